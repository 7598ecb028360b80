-- lienthong-fuzz reproduction: issue 15: raw phone numbers against the masked column match nothing
-- principal: ward-officer
SELECT citizen_id FROM population.citizens WHERE phone LIKE '09%' OR phone = '0912345678';
