-- lienthong-fuzz reproduction: issue 14 finding 20: a contradictory condition
-- principal: ward-officer
SELECT count(*) FROM population.citizens WHERE sex = 'male' AND sex = 'female';
