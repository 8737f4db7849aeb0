-- The stable code of a schedule's refusal (a translation key: refusal.frozen, ...).
ALTER TABLE release_schedules ADD COLUMN error_code TEXT;
