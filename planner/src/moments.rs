//! The running sums behind STDDEV_SAMP and CORRELATION, as ksqlDB computes them (its
//! StandardDeviationSampUdaf and CorrelationUdaf): one value at a time, in input order, with
//! an undo for a retracted value. Pull queries (`functions`) and the executor's incremental
//! accumulators both use these, so that the same rows in the same order give the same bits.
//!
//! Never: divide by a count below 2 (STDDEV_SAMP answers 0.0 there, as ksqlDB does), or
//! change the order of operations: a rounding difference shows in the answer.

/// STDDEV_SAMP's state: Youngs and Cramer's count, sum and sum of squared deviations.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Deviation {
    pub count: i64,
    pub sum: f64,
    pub m2: f64,
}

impl Deviation {
    pub fn add(&mut self, value: f64) {
        let count = self.count + 1;
        if self.count > 0 {
            let delta = value * count as f64 - (self.sum + value);
            self.m2 += delta * delta / (count as f64 * self.count as f64);
        }
        self.count = count;
        self.sum += value;
    }

    /// Takes back one `add(value)`.
    pub fn undo(&mut self, value: f64) {
        let count = self.count - 1;
        if count > 0 {
            let delta = value * self.count as f64 - self.sum;
            self.m2 -= delta * delta / (count as f64 * self.count as f64);
        } else {
            self.m2 = 0.0;
        }
        self.count = count;
        self.sum -= value;
    }

    /// Adds another state's values, as if they had come after this one's.
    pub fn merge(&mut self, other: &Deviation) {
        let count = self.count + other.count;
        if self.count > 0 && other.count > 0 {
            let mean_gap = self.sum / self.count as f64 - other.sum / other.count as f64;
            self.m2 += other.m2
                + self.count as f64 * other.count as f64 * mean_gap * mean_gap / count as f64;
        } else {
            self.m2 += other.m2;
        }
        self.count = count;
        self.sum += other.sum;
    }

    /// The sample standard deviation; 0.0 for fewer than two values.
    pub fn stddev_samp(&self) -> f64 {
        if self.count < 2 {
            return 0.0;
        }
        (self.m2 / (self.count - 1) as f64).sqrt()
    }
}

/// CORRELATION's state: the sums of the single-pass Pearson formula.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Correlation {
    pub count: i64,
    pub x_sum: f64,
    pub y_sum: f64,
    pub x_squared_sum: f64,
    pub y_squared_sum: f64,
    pub xy_sum: f64,
}

impl Correlation {
    /// Adds `copies` copies of the pair (a negative number takes copies back).
    pub fn add(&mut self, x: f64, y: f64, copies: i64) {
        let weight = copies as f64;
        self.count += copies;
        self.x_sum += weight * x;
        self.y_sum += weight * y;
        self.x_squared_sum += weight * (x * x);
        self.y_squared_sum += weight * (y * y);
        self.xy_sum += weight * (x * y);
    }

    pub fn merge(&mut self, other: &Correlation) {
        self.count += other.count;
        self.x_sum += other.x_sum;
        self.y_sum += other.y_sum;
        self.x_squared_sum += other.x_squared_sum;
        self.y_squared_sum += other.y_squared_sum;
        self.xy_sum += other.xy_sum;
    }

    /// Pearson's coefficient; NaN where it is undefined (no pairs, or a constant column), as
    /// ksqlDB's division gives.
    pub fn coefficient(&self) -> f64 {
        let count = self.count as f64;
        let numerator = count * self.xy_sum - self.x_sum * self.y_sum;
        let x_spread = count * self.x_squared_sum - self.x_sum * self.x_sum;
        let y_spread = count * self.y_squared_sum - self.y_sum * self.y_sum;
        numerator / (x_spread * y_spread).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deviation_matches_the_textbook_and_undoes() {
        let mut deviation = Deviation::default();
        for value in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            deviation.add(value);
        }
        // Sample variance 32/7.
        assert!((deviation.stddev_samp() - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        deviation.undo(9.0);
        deviation.undo(2.0);
        let mut rest = Deviation::default();
        for value in [4.0, 4.0, 4.0, 5.0, 5.0, 7.0] {
            rest.add(value);
        }
        assert!((deviation.stddev_samp() - rest.stddev_samp()).abs() < 1e-12);
        let mut one = Deviation::default();
        one.add(3.0);
        assert_eq!(one.stddev_samp(), 0.0);
        one.undo(3.0);
        assert_eq!(one, Deviation::default());
    }

    #[test]
    fn merging_into_an_empty_state_changes_no_bit() {
        let mut values = Deviation::default();
        for value in [0.1, 0.7, 1.3] {
            values.add(value);
        }
        let mut merged = Deviation::default();
        merged.merge(&values);
        assert_eq!(merged, values);
        let mut split = Deviation::default();
        split.add(0.1);
        let mut tail = Deviation::default();
        tail.add(0.7);
        tail.add(1.3);
        split.merge(&tail);
        assert!((split.stddev_samp() - values.stddev_samp()).abs() < 1e-12);
    }

    #[test]
    fn correlation_is_pearsons() {
        let mut correlation = Correlation::default();
        for (x, y) in [(1.0, 2.0), (2.0, 4.0), (3.0, 6.5)] {
            correlation.add(x, y, 1);
        }
        // Deviations from the means: x (-1, 0, 1), y (-13/6, -1/6, 14/6).
        let expected = 4.5 / (2.0 * 61.0 / 6.0f64).sqrt();
        assert!((correlation.coefficient() - expected).abs() < 1e-12);
        correlation.add(3.0, 6.5, -1);
        assert!((correlation.coefficient() - 1.0).abs() < 1e-12);
        assert!(Correlation::default().coefficient().is_nan());
    }
}
