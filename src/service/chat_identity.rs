//! A user's chat identity (profile page and `PUT /api/v1/me/chat`): the
//! mobile number and chat user id that chat robot messages @-mention (see
//! [`crate::notify::chat`]). One validation path for both.

use crate::domain::input_codes as codes;
use crate::domain::InvalidInput;
use crate::store::{users, DbConn};

use super::error::ServiceResult;

/// A chat identity (either part may be empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ChatIdentity {
    /// Mobile number (digits, optional leading `+`), for DingTalk and WeCom.
    #[serde(default)]
    pub mobile: String,
    /// Chat user id: DingTalk or WeCom user id, Feishu open_id/user_id, Slack member id.
    #[serde(default)]
    pub user_id: String,
}

impl ChatIdentity {
    /// Trims and checks both parts.
    pub fn parse(mobile: &str, user_id: &str) -> Result<Self, InvalidInput> {
        let mobile: String = mobile.trim().chars().filter(|c| *c != ' ' && *c != '-').collect();
        let digits = mobile.strip_prefix('+').unwrap_or(&mobile);
        if !mobile.is_empty() && (digits.is_empty() || digits.len() > 20 || !digits.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(InvalidInput::new(
                "chat_mobile",
                codes::CHAT_MOBILE,
                "is not a mobile number",
            ));
        }
        let user_id = user_id.trim();
        let bad_char = |c: char| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == '"';
        if user_id.chars().count() > 64 || user_id.chars().any(bad_char) {
            return Err(InvalidInput::new(
                "chat_user_id",
                codes::CHAT_USER_ID,
                "must be at most 64 characters without spaces, < or >",
            ));
        }
        crate::domain::check_text("chat_user_id", user_id, false)?;
        Ok(Self {
            mobile,
            user_id: user_id.to_owned(),
        })
    }
}

/// The chat identity of user `user_id`.
pub fn get(conn: &mut DbConn, user_id: i64) -> ServiceResult<ChatIdentity> {
    let user = users::by_id(conn, user_id)?.ok_or_else(|| super::ServiceError::not_found("user", user_id))?;
    Ok(ChatIdentity {
        mobile: user.chat_mobile,
        user_id: user.chat_user_id,
    })
}

/// Checks and stores the chat identity of user `user_id`; returns it as stored.
pub fn set(conn: &mut DbConn, user_id: i64, mobile: &str, chat_user_id: &str) -> ServiceResult<ChatIdentity> {
    let identity = ChatIdentity::parse(mobile, chat_user_id)?;
    users::set_chat_identity(conn, user_id, &identity.mobile, &identity.user_id)?;
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_numbers_and_ids_are_checked() {
        assert_eq!(
            ChatIdentity::parse(" +86 138-0013-8000 ", "").map(|c| c.mobile),
            Ok("+8613800138000".into())
        );
        assert!(ChatIdentity::parse("", "").is_ok(), "both may be empty");
        assert!(ChatIdentity::parse("abc", "").is_err());
        assert!(ChatIdentity::parse("+", "").is_err());
        assert!(ChatIdentity::parse("1".repeat(21).as_str(), "").is_err());
        assert!(ChatIdentity::parse("", "ou_7d8a6e6df7621556ce0d21922b676706").is_ok());
        assert!(ChatIdentity::parse("", "a b").is_err());
        assert!(ChatIdentity::parse("", "<at id=all>").is_err());
        assert!(ChatIdentity::parse("", &"x".repeat(65)).is_err());
    }
}
