//! Signatures of chat robots' "signed" webhooks:
//!
//! - DingTalk (加签): `sign = urlencode(base64(HMAC-SHA256(key = secret,
//!   message = "<timestamp ms>\n<secret>")))`, appended to the URL as
//!   `&timestamp=…&sign=…`.
//! - Feishu/Lark (签名校验): `sign = base64(HMAC-SHA256(key =
//!   "<timestamp s>\n<secret>", message = ""))`, sent in the body as
//!   `"timestamp"` and `"sign"`.

use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use sha2::Sha256;

fn hmac_base64(key: &[u8], message: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// DingTalk's signature for `timestamp_ms` (base64, not yet URL-encoded).
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    hmac_base64(secret.as_bytes(), format!("{timestamp_ms}\n{secret}").as_bytes())
}

/// `url` with DingTalk's `timestamp` and URL-encoded `sign` appended.
pub fn dingtalk_url(url: &str, secret: &str, timestamp_ms: i64) -> String {
    let sign = dingtalk_sign(secret, timestamp_ms);
    let sep = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{sep}timestamp={timestamp_ms}&sign={}",
        utf8_percent_encode(&sign, NON_ALPHANUMERIC)
    )
}

/// Feishu's signature for `timestamp_s` (base64).
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    hmac_base64(format!("{timestamp_s}\n{secret}").as_bytes(), b"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dingtalk_signs_timestamp_and_secret_and_encodes_for_the_url() {
        let url = dingtalk_url(
            "https://oapi.dingtalk.com/robot/send?access_token=x",
            "SECabc",
            1_700_000_000_000,
        );
        let sign = dingtalk_sign("SECabc", 1_700_000_000_000);
        assert!(url.starts_with("https://oapi.dingtalk.com/robot/send?access_token=x&timestamp=1700000000000&sign="));
        let encoded = url.rsplit("sign=").next().expect("sign");
        assert_eq!(
            percent_encoding::percent_decode_str(encoded)
                .decode_utf8()
                .expect("utf8"),
            sign
        );
        assert!(!encoded.contains('+') && !encoded.contains('/') && !encoded.contains('='));
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&sign)
                .expect("base64")
                .len(),
            32
        );
    }

    #[test]
    fn feishu_keys_the_hmac_with_timestamp_and_secret() {
        let a = feishu_sign("s", 1);
        assert_ne!(a, feishu_sign("s", 2));
        assert_eq!(a, hmac_base64(b"1\ns", b""));
    }
}
