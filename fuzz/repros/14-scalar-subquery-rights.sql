-- lienthong-fuzz reproduction: issue 14: an uncorrelated scalar subquery over a table the caller reads in part
-- principal: land-officer
SELECT p.parcel_id, (SELECT count(*) FROM land.rights) AS n FROM land.parcels p JOIN land.rights r ON r.parcel_id = p.parcel_id;
