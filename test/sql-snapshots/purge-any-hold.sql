-- purge-any-hold: sent unprepared
SELECT EXISTS (SELECT FROM legal_holds) AS held
