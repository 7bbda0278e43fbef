-- Pull queries: DataFusion's SQL over a stream's contents, pseudo-columns included.
CREATE STREAM bids (auction BIGINT KEY, bidder BIGINT, price BIGINT, channel STRING) WITH (PARTITIONS = 2);
INSERT INTO bids (auction, bidder, price, channel, rowtime) VALUES
    (1, 10, 100, 'web', 1000), (1, 11, 150, 'app', 2000), (2, 10, 80, 'web', 3000),
    (2, 12, 95, 'app', 4000), (3, 13, 300, 'web', 5000), (1, 12, 160, 'web', 6000);
SELECT * FROM bids;
SELECT auction, COUNT(*) AS bids, MAX(price) AS top, AVG(price) AS average FROM bids GROUP BY auction ORDER BY auction;
SELECT auction, price FROM bids WHERE channel = 'web' AND price > 90 ORDER BY price DESC LIMIT 2;
SELECT auction, price, rowtime FROM bids WHERE rowtime >= 4000 ORDER BY rowtime;
SELECT COUNT(DISTINCT rowpartition) AS partitions, COUNT(*) AS rows, MIN(rowoffset) AS first_offset FROM bids;
SELECT b.bidder, COUNT(*) AS wins
FROM bids b
JOIN (SELECT auction, MAX(price) AS price FROM bids GROUP BY auction) best
  ON b.auction = best.auction AND b.price = best.price
GROUP BY b.bidder ORDER BY b.bidder;
SELECT channel, SUM(price) FILTER (WHERE price > 100) AS big FROM bids GROUP BY channel ORDER BY channel;
SELECT CASE WHEN price >= 150 THEN 'high' ELSE 'low' END AS band, COUNT(*) AS n FROM bids GROUP BY 1 ORDER BY band;
SELECT CAST(price AS DOUBLE) / 3 AS third, concat(channel, '-', CAST(auction AS STRING)) AS tag FROM bids WHERE auction = 3;
WITH totals AS (SELECT bidder, SUM(price) AS spent FROM bids GROUP BY bidder) SELECT bidder, spent FROM totals WHERE spent > 200 ORDER BY bidder;
SELECT price + 1, lower(channel) FROM bids WHERE auction = 3;
SELECT no_such_column FROM bids;
SELECT * FROM bids WHERE price > 'cheap';
SELECT auction FROM bids LIMIT 1 OFFSET 100;
