-- lienthong-fuzz reproduction: issue 14 finding 19: a correlated scalar subquery counting rows of the same table
-- principal: ward-officer
SELECT r1.holder_citizen_id, (SELECT count(*) FROM land.rights r2 WHERE r2.ward_code = r1.ward_code) FROM land.rights r1;
