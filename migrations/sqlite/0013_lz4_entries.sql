-- PostgreSQL compresses large entries with LZ4 from here on; SQLite stores
-- them as they are. (A migration of the same number on both backends.)
SELECT 1;
