-- lienthong-fuzz reproduction: answered where the copy failed
-- principal: ward-officer
-- found by: lienthong-fuzz run --seed 2 (query 1571)
-- governed: 0 rows
-- copy: failed while running: Arrow error: Cast error: Cannot cast string '*' to value of Int64 type
-- generated: (SELECT CAST(r2.ward_kind AS VARCHAR) AS c0, count(*) AS c1, min(t1.registered_date) AS c2 FROM population.households t1 FULL JOIN reference.wards r2 ON (t1.ward_code = r2.ward_code) LEFT JOIN population.citizens t3 ON (r2.ward_code = t3.current_ward_code) WHERE (t1.member_count = strpos(t3.home_town, '0')) GROUP BY r2.ward_kind HAVING (count(*) = 0)) EXCEPT ALL (SELECT t4.land_use_code AS c0, CAS…
(SELECT r2.ward_kind AS c0, count(*) AS c1, count(*) AS c2 FROM population.households t1 JOIN reference.wards r2 ON (t1.ward_code = r2.ward_code) GROUP BY r2.ward_kind HAVING (count(*) = 0)) EXCEPT ALL (SELECT t4.land_use_code AS c0, '*' AS c1, DATE '2020-01-18' AS c2 FROM land.parcels t4);
