//! TFRecord framing, the container of TensorBoard's event files: each record is
//!
//! ```text
//! u64 length (little-endian) · u32 masked CRC32C of those 8 bytes · data · u32 masked CRC32C of data
//! ```
//!
//! with CRC32C the Castagnoli CRC (reflected polynomial 0x82F63B78, initial value and final
//! xor 0xFFFFFFFF), masked as TensorFlow does so that a CRC of data holding CRCs is not
//! degenerate: `mask(c) = ((c >> 15) | (c << 17)) + 0xA282EAD8` (mod 2³²), i.e. c rotated right
//! by 15 bits plus the constant.

/// The reflected Castagnoli polynomial.
const POLY: u32 = 0x82F6_3B78;

/// TensorFlow's mask constant.
const MASK_DELTA: u32 = 0xA282_EAD8;

/// The byte-at-a-time table: `TABLE[b]` is the CRC register after shifting byte `b` through.
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut b = 0;
    while b < 256 {
        let mut c = b as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        table[b] = c;
        b += 1;
    }
    table
};

/// CRC32C of `bytes`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |c, &b| {
        TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8)
    })
}

/// The masked CRC32C TFRecord stores.
pub fn masked_crc(bytes: &[u8]) -> u32 {
    let c = crc32c(bytes);
    c.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// One record's bytes around `data`.
pub fn frame(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(16 + data.len());
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
    out
}

/// The records of a TFRecord file, each checked against both its CRCs; an error says which
/// record is cut short or damaged.
pub fn records(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let n = out.len();
        let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        if bytes.len() < 12 {
            return Err(format!("record {n}: cut short inside its header"));
        }
        let (len_bytes, rest) = bytes.split_at(8);
        if word(rest) != masked_crc(len_bytes) {
            return Err(format!("record {n}: the length's CRC does not match"));
        }
        let len = u64::from_le_bytes(len_bytes.try_into().map_err(|_| "length")?);
        let len = usize::try_from(len).map_err(|_| format!("record {n}: length {len}"))?;
        let rest = &rest[4..];
        if rest.len() < len.saturating_add(4) {
            return Err(format!("record {n}: cut short inside its data"));
        }
        let (data, rest) = rest.split_at(len);
        if word(rest) != masked_crc(data) {
            return Err(format!("record {n}: the data's CRC does not match"));
        }
        out.push(data.to_vec());
        bytes = &rest[4..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CRC32C check value from the CRC catalogue (and RFC 3720's test vector of 32 zero
    /// bytes), so the table and the register are the Castagnoli CRC, not another CRC-32.
    #[test]
    fn crc32c_known_values() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
    }

    /// The mask is TensorFlow's: values from TensorBoard's own `masked_crc32c`
    /// (tensorboard.compat.tensorflow_stub.pywrap_tensorflow), for a payload and for the
    /// length word of a 5-byte record.
    #[test]
    fn masked_crc_is_tensorflows() {
        assert_eq!(masked_crc(b"123456789"), 0xC78A_B0E5);
        assert_eq!(masked_crc(&5u64.to_le_bytes()), 0x3E04_B2EA);
    }

    /// Framed records read back; a flipped bit in the data or the length is caught by its CRC,
    /// and a cut file is reported as cut.
    #[test]
    fn framing_round_trip_and_damage() {
        let mut file = frame(b"first");
        file.extend(frame(b""));
        file.extend(frame(&[7u8; 300]));
        let back = records(&file).unwrap();
        assert_eq!(back, vec![b"first".to_vec(), vec![], vec![7u8; 300]]);
        let mut bad = file.clone();
        bad[13] ^= 1;
        assert!(records(&bad).unwrap_err().contains("data's CRC"));
        let mut bad = file.clone();
        bad[0] ^= 1;
        assert!(records(&bad).unwrap_err().contains("length's CRC"));
        assert!(records(&file[..file.len() - 2])
            .unwrap_err()
            .contains("cut short"));
    }
}
