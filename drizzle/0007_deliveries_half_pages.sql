-- 0001 kept 30% of each deliveries page free so that marking a delivery sent could stay on its page
-- (heap-only, no new index entries). It was not enough: a page filled by a fan-out's insert to 70% has
-- room for the new versions of fewer than half of its rows, and in a measurement of 100,000 rows marked
-- sent 100 at a time only 42% of the updates were heap-only (62% at 60%). Half-full pages make all of
-- them heap-only: those updates took 0.55 s instead of 1.46 s, and the table ended up smaller (60 MB
-- against 66 MB), as the old versions are pruned in place (docs/benchmarks.md).
ALTER TABLE "deliveries" SET (fillfactor = 50);
