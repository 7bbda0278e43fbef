-- A GROUP BY inside a persistent or push query: a subquery's aggregation read by another
-- GROUP BY, and a window TVF's windows joined with a stream (Nexmark q4, q7 and q8).
CREATE STREAM bids (auction BIGINT, bidder BIGINT, price BIGINT, date_time BIGINT)
    WITH (PARTITIONS = 2, TIMESTAMP = 'date_time');
CREATE STREAM auctions (id BIGINT, seller BIGINT, category INT, date_time BIGINT, expires BIGINT)
    WITH (PARTITIONS = 2, TIMESTAMP = 'date_time');
CREATE STREAM persons (id BIGINT, name STRING, date_time BIGINT)
    WITH (PARTITIONS = 1, TIMESTAMP = 'date_time');

-- An aggregation over an aggregation: how many auctions have each highest price. A new
-- highest bid moves its auction from one group to the other (the inner GROUP BY's −old/+new).
CREATE TABLE auctions_per_top_price AS
    SELECT top_price, COUNT(*) AS auctions, SUM(auction) AS auction_sum
    FROM (SELECT auction, MAX(price) AS top_price FROM bids GROUP BY auction) tops
    GROUP BY top_price;
-- Nexmark q4 in one query: each auction's closing price (its highest bid while it is open),
-- averaged per category.
CREATE TABLE average_closing_price AS
    SELECT category, AVG(closing) AS average, COUNT(*) AS auctions
    FROM (
        SELECT a.id, a.category, MAX(b.price) AS closing
        FROM auctions a JOIN bids b WITHIN 1 HOUR ON a.id = b.auction
        WHERE b.date_time BETWEEN a.date_time AND a.expires
        GROUP BY a.id, a.category
    ) closings
    GROUP BY category;
-- Nexmark q7: the bids whose price is the highest of their 10-second window. The subquery's
-- windows are each emitted once, when they close, so its rows are a stream.
CREATE STREAM highest_bids AS
    SELECT b.auction, b.bidder, b.price, b.date_time
    FROM bids b
    JOIN (
        SELECT MAX(price) AS top_price, window_start, window_end
        FROM TUMBLE(bids, date_time, INTERVAL '10' SECOND)
        GROUP BY window_start, window_end
    ) tops WITHIN 10 SECONDS GRACE PERIOD 10 SECONDS
    ON b.price = tops.top_price
    WHERE b.date_time >= UNIX_TIMESTAMP(tops.window_start)
      AND b.date_time < UNIX_TIMESTAMP(tops.window_end);
-- Nexmark q8: persons who opened an auction in the 10-second window they joined in.
CREATE STREAM new_sellers AS
    SELECT p.id, p.name, p.window_start
    FROM (
        SELECT id, name, window_start, window_end
        FROM TUMBLE(persons, date_time, INTERVAL '10' SECOND)
        GROUP BY id, name, window_start, window_end
    ) p
    JOIN (
        SELECT seller, window_start, window_end
        FROM TUMBLE(auctions, date_time, INTERVAL '10' SECOND)
        GROUP BY seller, window_start, window_end
    ) a WITHIN 10 SECONDS GRACE PERIOD 10 SECONDS
    ON p.id = a.seller AND p.window_start = a.window_start;
-- A subquery's GROUP BY joined with a table: its rows are a table keyed by its GROUP BY
-- columns, changing as bids come.
CREATE TABLE auction_levels (id BIGINT PRIMARY KEY, level STRING) WITH (PARTITIONS = 1);
CREATE TABLE bid_counts AS
    SELECT l.id, l.level, c.bids, c.top_price
    FROM auction_levels l
    LEFT JOIN (SELECT auction, COUNT(*) AS bids, MAX(price) AS top_price FROM bids GROUP BY auction) c
    ON l.id = c.auction;
DESCRIBE highest_bids;
DESCRIBE new_sellers;
EXPLAIN SELECT top_price, COUNT(*) AS auctions
    FROM (SELECT auction, MAX(price) AS top_price FROM bids GROUP BY auction) tops
    GROUP BY top_price EMIT CHANGES;

INSERT INTO persons (id, name, date_time) VALUES (1, 'ann', 1000), (2, 'bob', 2000), (3, 'cy', 12000);
INSERT INTO auctions (id, seller, category, date_time, expires) VALUES
    (1, 1, 10, 1000, 5000), (2, 1, 10, 3000, 5000), (3, 3, 11, 13000, 20000), (4, 2, 11, 11000, 20000);
INSERT INTO bids (auction, bidder, price, date_time) VALUES
    (1, 100, 10, 1000), (2, 101, 30, 3000), (1, 102, 20, 4000), (2, 103, 5, 6000);
INSERT INTO bids (auction, bidder, price, date_time) VALUES
    (3, 100, 50, 13000), (4, 104, 50, 15000), (3, 105, 40, 19000);
INSERT INTO auction_levels (id, level) VALUES (1, 'gold'), (2, 'silver'), (9, 'none');
-- @settle
SELECT * FROM auctions_per_top_price ORDER BY top_price;
SELECT * FROM average_closing_price ORDER BY category;
SELECT * FROM bid_counts ORDER BY id;
-- Stream time is 19000: only the first window of bids has closed.
SELECT auction, bidder, price, date_time FROM highest_bids;
SELECT id, name, window_start FROM new_sellers;

-- A restart mid-stream: the open windows and the join's rows carry on.
-- @restart
INSERT INTO bids (auction, bidder, price, date_time) VALUES (1, 106, 60, 4500), (3, 107, 1, 25000);
INSERT INTO persons (id, name, date_time) VALUES (4, 'dee', 40000);
INSERT INTO auctions (id, seller, category, date_time, expires) VALUES (5, 4, 12, 40000, 50000);
DELETE FROM auction_levels WHERE id = 2;
INSERT INTO auction_levels (id, level) VALUES (3, 'bronze');
-- @settle
-- Auction 1's highest price is now 60: it leaves the group of 20.
SELECT * FROM auctions_per_top_price ORDER BY top_price;
SELECT * FROM bid_counts ORDER BY id;
SELECT * FROM average_closing_price ORDER BY category;
-- The bid at 4500 came after its window closed: it is late for the window, and no row of
-- [0, 10 s) changes. The window [10 s, 20 s) closed at 25000 with two bids of 50.
SELECT auction, bidder, price, date_time FROM highest_bids;
-- The persons' window [10 s, 20 s) closed at 40000: cy sold auction 3 in it.
SELECT id, name, window_start FROM new_sellers;

-- What stays unsupported says so.
CREATE TABLE latest_top AS
    SELECT top_price, LATEST_BY_OFFSET(auction) AS auction
    FROM (SELECT auction, MAX(price) AS top_price FROM bids GROUP BY auction) tops
    GROUP BY top_price;
-- A stream joins a table by looking its rows up: a subquery's GROUP BY has none to look up.
CREATE STREAM counted_bids AS
    SELECT b.auction, b.price, c.bids
    FROM bids b JOIN (SELECT auction, COUNT(*) AS bids FROM bids GROUP BY auction) c
    ON b.auction = c.auction;
-- A GROUP BY's rows are named by its GROUP BY columns: the SELECT list must keep them.
CREATE TABLE unnamed_counts AS
    SELECT l.id, c.bids
    FROM auction_levels l JOIN (SELECT COUNT(*) AS bids FROM bids GROUP BY auction) c
    ON l.id = c.bids;
-- On the left of a join too, a subquery's GROUP BY is a table keyed by its group.
CREATE TABLE counts_first AS
    SELECT c.auction, c.bids, l.level
    FROM (SELECT auction, COUNT(*) AS bids FROM bids GROUP BY auction) c
    LEFT JOIN auction_levels l ON c.auction = l.id;
-- @settle
SELECT * FROM counts_first ORDER BY auction;
CREATE STREAM unnamed AS
    SELECT b.auction FROM bids b
    JOIN (SELECT MAX(price) AS top_price, window_start, window_end
          FROM TUMBLE(bids, date_time, INTERVAL '10' SECOND) GROUP BY window_start, window_end)
    WITHIN 10 SECONDS ON b.price = top_price;
