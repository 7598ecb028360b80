-- lienthong-fuzz reproduction: issue 14: a scalar subquery over a table the caller cannot see, beside a left join
-- principal: ward-officer
SELECT c.citizen_id, (SELECT max(area_m2) FROM land.parcels) AS biggest FROM population.citizens c
LEFT JOIN land.rights r ON r.holder_citizen_id = c.citizen_id WHERE c.sex = (SELECT min(sex) FROM population.citizens);
