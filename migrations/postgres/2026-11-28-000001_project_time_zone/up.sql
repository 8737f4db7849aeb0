-- A project's time zone becomes an IANA name (weekly freeze windows follow
-- daylight saving). The fixed offsets convert to zones with that offset:
-- whole hours to Etc/GMT∓N (POSIX sign: Etc/GMT-8 is UTC+8), 0 to UTC, the
-- usual half- and quarter-hour offsets to a city that keeps them all year
-- (domain::freeze::zone_for_offset maps them the same way). The old column
-- stays, unused, so that the down migration restores it unchanged.
ALTER TABLE projects ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
UPDATE projects SET time_zone = CASE
    WHEN utc_offset_minutes = 0 THEN 'UTC'
    WHEN utc_offset_minutes % 60 = 0 AND utc_offset_minutes > 0 AND utc_offset_minutes <= 840
        THEN 'Etc/GMT-' || CAST(utc_offset_minutes / 60 AS TEXT)
    WHEN utc_offset_minutes % 60 = 0 AND utc_offset_minutes < 0 AND utc_offset_minutes >= -720
        THEN 'Etc/GMT+' || CAST(-utc_offset_minutes / 60 AS TEXT)
    WHEN utc_offset_minutes = -570 THEN 'Pacific/Marquesas'
    WHEN utc_offset_minutes = -210 THEN 'America/St_Johns'
    WHEN utc_offset_minutes = 210 THEN 'Asia/Tehran'
    WHEN utc_offset_minutes = 270 THEN 'Asia/Kabul'
    WHEN utc_offset_minutes = 330 THEN 'Asia/Kolkata'
    WHEN utc_offset_minutes = 345 THEN 'Asia/Kathmandu'
    WHEN utc_offset_minutes = 390 THEN 'Asia/Yangon'
    WHEN utc_offset_minutes = 525 THEN 'Australia/Eucla'
    WHEN utc_offset_minutes = 570 THEN 'Australia/Darwin'
    WHEN utc_offset_minutes = 765 THEN 'Pacific/Chatham'
    ELSE 'UTC'
END;
