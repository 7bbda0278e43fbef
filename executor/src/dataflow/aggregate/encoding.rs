//! The byte encoding of one group's saved aggregate state: a version byte, then the state's
//! fields as LEB128 varints (zigzag for signed numbers), little-endian fixed-width numbers and
//! length-prefixed byte strings.
//!
//! Never: panic or allocate unboundedly on corrupt input; every read checks what is left.

use super::AggregateError;

/// The version byte every saved state starts with. A change of any state's layout bumps it.
pub(super) const STATE_VERSION: u8 = 1;

/// Appends encoded fields to a byte vector.
pub(super) struct Encoder {
    bytes: Vec<u8>,
}

impl Encoder {
    /// Starts an encoding with the version byte at the end of `bytes`.
    pub(super) fn appending_to(mut bytes: Vec<u8>) -> Self {
        bytes.push(STATE_VERSION);
        Encoder { bytes }
    }

    pub(super) fn finish(self) -> Vec<u8> {
        self.bytes
    }

    pub(super) fn put_u64(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.bytes.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.bytes.push(value as u8);
    }

    pub(super) fn put_i64(&mut self, value: i64) {
        self.put_u64(((value << 1) ^ (value >> 63)) as u64);
    }

    pub(super) fn put_usize(&mut self, value: usize) {
        self.put_u64(value as u64);
    }

    pub(super) fn put_bool(&mut self, value: bool) {
        self.bytes.push(u8::from(value));
    }

    pub(super) fn put_f64(&mut self, value: f64) {
        self.bytes.extend_from_slice(&value.to_bits().to_le_bytes());
    }

    pub(super) fn put_i128(&mut self, value: i128) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    pub(super) fn put_fixed<const N: usize>(&mut self, bytes: [u8; N]) {
        self.bytes.extend_from_slice(&bytes);
    }

    pub(super) fn put_bytes(&mut self, bytes: &[u8]) {
        self.put_usize(bytes.len());
        self.bytes.extend_from_slice(bytes);
    }
}

/// Reads fields back, in the order they were put.
pub(super) struct Decoder<'a> {
    rest: &'a [u8],
}

impl<'a> Decoder<'a> {
    /// Checks the version byte and starts reading after it.
    pub(super) fn new(bytes: &'a [u8]) -> Result<Self, AggregateError> {
        match bytes.split_first() {
            Some((&STATE_VERSION, rest)) => Ok(Decoder { rest }),
            Some((version, _)) => Err(corrupt(format!(
                "state version {version} is not {STATE_VERSION}, the version this Eddy reads"
            ))),
            None => Err(corrupt("the state is empty")),
        }
    }

    /// Fails unless every byte was read: trailing bytes mean the state is not what was saved.
    pub(super) fn finish(self) -> Result<(), AggregateError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(corrupt(format!("{} bytes left over", self.rest.len())))
        }
    }

    fn take(&mut self, count: usize) -> Result<&'a [u8], AggregateError> {
        if count > self.rest.len() {
            return Err(corrupt("the state ends early"));
        }
        let (taken, rest) = self.rest.split_at(count);
        self.rest = rest;
        Ok(taken)
    }

    fn take_fixed<const N: usize>(&mut self) -> Result<[u8; N], AggregateError> {
        let mut fixed = [0u8; N];
        fixed.copy_from_slice(self.take(N)?);
        Ok(fixed)
    }

    pub(super) fn u64(&mut self) -> Result<u64, AggregateError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(corrupt("a varint is longer than 10 bytes"))
    }

    pub(super) fn i64(&mut self) -> Result<i64, AggregateError> {
        let zigzag = self.u64()?;
        Ok(((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64))
    }

    /// A count of items that follow; bounded by the bytes left, so a corrupt count cannot make
    /// the caller reserve huge vectors.
    pub(super) fn count(&mut self) -> Result<usize, AggregateError> {
        let count = self.u64()?;
        if count > self.rest.len() as u64 {
            return Err(corrupt(format!(
                "{count} items announced but only {} bytes left",
                self.rest.len()
            )));
        }
        Ok(count as usize)
    }

    pub(super) fn bool(&mut self) -> Result<bool, AggregateError> {
        match self.take(1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(corrupt(format!("{other} is not a boolean"))),
        }
    }

    pub(super) fn f64(&mut self) -> Result<f64, AggregateError> {
        Ok(f64::from_bits(u64::from_le_bytes(self.take_fixed()?)))
    }

    pub(super) fn i128(&mut self) -> Result<i128, AggregateError> {
        Ok(i128::from_le_bytes(self.take_fixed()?))
    }

    pub(super) fn fixed<const N: usize>(&mut self) -> Result<[u8; N], AggregateError> {
        self.take_fixed()
    }

    pub(super) fn bytes(&mut self) -> Result<&'a [u8], AggregateError> {
        let length = self.count()?;
        self.take(length)
    }
}

pub(super) fn corrupt(detail: impl Into<String>) -> AggregateError {
    AggregateError::CorruptState(detail.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_round_trips() {
        let mut encoder = Encoder::appending_to(Vec::new());
        for value in [0, 1, 127, 128, u64::MAX] {
            encoder.put_u64(value);
        }
        for value in [0, -1, 1, i64::MIN, i64::MAX] {
            encoder.put_i64(value);
        }
        encoder.put_bool(true);
        encoder.put_f64(-0.5);
        encoder.put_i128(i128::MIN);
        encoder.put_fixed([7u8; 3]);
        encoder.put_bytes(b"abc");
        let bytes = encoder.finish();

        let mut decoder = Decoder::new(&bytes).unwrap();
        for value in [0, 1, 127, 128, u64::MAX] {
            assert_eq!(decoder.u64().unwrap(), value);
        }
        for value in [0, -1, 1, i64::MIN, i64::MAX] {
            assert_eq!(decoder.i64().unwrap(), value);
        }
        assert!(decoder.bool().unwrap());
        assert_eq!(decoder.f64().unwrap(), -0.5);
        assert_eq!(decoder.i128().unwrap(), i128::MIN);
        assert_eq!(decoder.fixed::<3>().unwrap(), [7u8; 3]);
        assert_eq!(decoder.bytes().unwrap(), b"abc");
        decoder.finish().unwrap();
    }

    #[test]
    fn corrupt_input_is_an_error() {
        assert!(Decoder::new(&[]).is_err());
        assert!(Decoder::new(&[STATE_VERSION + 1]).is_err());
        let mut truncated = Decoder::new(&[STATE_VERSION, 0x80]).unwrap();
        assert!(truncated.u64().is_err());
        let mut too_long = Decoder::new(&[STATE_VERSION, 5, b'a']).unwrap();
        assert!(too_long.bytes().is_err());
        let mut endless = Decoder::new(&[
            STATE_VERSION,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0x01,
        ])
        .unwrap();
        assert!(endless.u64().is_err());
        let left_over = Decoder::new(&[STATE_VERSION, 0]).unwrap();
        assert!(left_over.finish().is_err());
    }
}
