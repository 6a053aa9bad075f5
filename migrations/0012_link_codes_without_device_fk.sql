ALTER TABLE "link_codes" DROP CONSTRAINT "link_codes_created_by_device_id_devices_id_fk";
