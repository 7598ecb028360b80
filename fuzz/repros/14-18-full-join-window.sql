-- lienthong-fuzz reproduction: issue 14 finding 18: a full join with an extra condition on a hidden key, a window over it
-- principal: ward-officer
SELECT c1.current_ward_code, count(*) OVER (PARTITION BY c1.current_ward_code) FROM population.citizens c1
FULL JOIN population.households h2 ON c1.citizen_id = h2.head_citizen_id AND h2.head_citizen_id = '002192577057'
LEFT JOIN population.households h3 ON c1.household_id = h3.household_id;
