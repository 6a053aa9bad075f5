-- purge-ended-partitions: sent unprepared
SELECT partition_name AS name, parent_name AS parent, attached FROM expiry_partitions_ended_by((SELECT recorded_until FROM expiry_progress))
