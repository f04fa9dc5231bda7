"""Why a login or launch was refused: stable codes with words an LMS administrator reads."""

from __future__ import annotations

from typing import Any

from plugin.core.errors import PluginError

# code: (HTTP status, zh-TW text, English text). Texts may name {placeholders}.
REASONS: dict[str, tuple[int, str, str]] = {
    "login_missing_parameter": (
        400,
        "登入請求缺少必要參數 {param}。請確認平臺設定的登入網址 (OIDC login URL) 正確。",
        "The login request lacks the parameter {param}. Check the tool's OIDC login URL in "
        "the platform.",
    ),
    "login_invalid_parameter": (
        400,
        "登入請求的參數 {param} 含有不允許的字元（NUL）。",
        "The login request's parameter {param} contains a character that is not allowed (NUL).",
    ),
    "too_many_logins": (
        429,
        "此平臺（issuer {issuer}）同時進行中的登入太多，請稍候幾分鐘再開啟活動。",
        "Too many logins from this platform (issuer {issuer}) are in progress. Wait a few "
        "minutes and launch the activity again.",
    ),
    "login_capacity_reached": (
        503,
        "本工具目前同時進行中的登入太多，請稍候幾分鐘再開啟活動。",
        "The tool has too many logins in progress. Wait a few minutes and launch the activity "
        "again.",
    ),
    "unknown_platform": (
        400,
        "本工具沒有這個平臺的註冊（issuer {issuer}，client_id {client_id}）。請管理員先註冊平臺。",
        "This tool has no registration for the platform (issuer {issuer}, client_id "
        "{client_id}). An administrator must register it first.",
    ),
    "platform_origin_unknown": (
        400,
        "無法從此平臺的註冊（issuer {issuer}）得知其網址來源（OIDC 授權端點），"
        "因此無法安全使用平臺儲存。"
        "請管理員確認平臺的登入授權網址 (auth_login_url) 為完整的 https 網址。",
        "The origin of this platform (issuer {issuer}) is not known from its registration's "
        "OIDC authorization endpoint, so platform storage cannot be used safely. An "
        "administrator must set the platform's auth_login_url to a full https URL.",
    ),
    "platform_disabled": (
        403,
        "此平臺的註冊已停用（issuer {issuer}）。",
        "The registration of this platform is disabled (issuer {issuer}).",
    ),
    "missing_id_token": (
        400,
        "啟動請求沒有 id_token。平臺必須以 form POST 傳回 id_token。",
        "The launch has no id_token. The platform must POST the id_token back to the launch URL.",
    ),
    "missing_state": (
        400,
        "啟動請求沒有 state 參數。",
        "The launch has no state parameter.",
    ),
    "malformed_token": (
        400,
        "id_token 不是格式正確的 JWT，無法解讀。",
        "The id_token is not a well-formed JWT.",
    ),
    "unsupported_algorithm": (
        400,
        "id_token 的簽章演算法是 {alg}；本工具只接受 RS256。",
        "The id_token is signed with {alg}; this tool accepts RS256 only.",
    ),
    "missing_kid": (
        400,
        "id_token 的標頭沒有 kid，無法找出簽章用的金鑰。",
        "The id_token header has no kid, so its signing key cannot be found.",
    ),
    "unknown_kid": (
        401,
        "平臺的公開金鑰組（{key_set_url}）中沒有 kid 為 {kid} 的金鑰。",
        "The platform's key set ({key_set_url}) has no key with kid {kid}.",
    ),
    "key_set_unavailable": (
        502,
        "無法取得平臺的公開金鑰組（{key_set_url}）：{reason}",
        "The platform's key set could not be fetched ({key_set_url}): {reason}",
    ),
    "bad_signature": (
        401,
        "id_token 的簽章驗證失敗。",
        "The id_token signature does not verify.",
    ),
    "bad_audience": (
        401,
        "id_token 的 aud 不包含本工具的 client_id。",
        "The id_token's aud does not contain this tool's client_id.",
    ),
    "bad_azp": (
        401,
        "id_token 有多個 aud，但 azp 不是本工具的 client_id（{client_id}）。",
        "The id_token has several audiences and its azp is not this tool's client_id "
        "({client_id}).",
    ),
    "token_expired": (
        401,
        "id_token 已過期（exp）。請檢查平臺的系統時間，或重新開啟活動。",
        "The id_token has expired (exp). Check the platform's clock or launch again.",
    ),
    "token_issued_in_future": (
        401,
        "id_token 的簽發時間（iat）在未來。請檢查平臺的系統時間。",
        "The id_token is issued in the future (iat). Check the platform's clock.",
    ),
    "missing_claim": (
        400,
        "id_token 缺少必要的宣告（claim）{claim}。",
        "The id_token lacks the required claim {claim}.",
    ),
    "wrong_version": (
        400,
        "LTI 版本宣告是 {version}；本工具需要 1.3.0。",
        "The LTI version claim is {version}; this tool needs 1.3.0.",
    ),
    "unknown_message_type": (
        400,
        "不支援的 LTI 訊息類型 {message_type}。",
        "Unsupported LTI message type {message_type}.",
    ),
    "invalid_claim": (
        400,
        "id_token 的宣告 {claim} 不正確：{reason}",
        "The id_token claim {claim} is not valid: {reason}",
    ),
    "deployment_pending": (
        403,
        "此部署（deployment_id {deployment_id}）正在等待管理員核准。核准後即可使用。",
        "This deployment (deployment_id {deployment_id}) awaits approval by an administrator. "
        "It can be used once approved.",
    ),
    "state_unknown": (
        400,
        "找不到這次登入的 state，可能已過期或已使用。請重新開啟活動。",
        "The login state is unknown, expired or already used. Launch the activity again.",
    ),
    "state_expired": (
        400,
        "這次登入已逾時（超過登入有效時間），請重新開啟活動。",
        "This login has expired (it took longer than the login may take). Launch the activity "
        "again.",
    ),
    "state_mismatch": (
        400,
        "這次啟動不是從同一個瀏覽器發起的登入（state 不符）。請重新開啟活動。",
        "This launch does not belong to a login started in this browser (state mismatch). "
        "Launch the activity again.",
    ),
    "state_unverified": (
        400,
        "瀏覽器封鎖了第三方 Cookie，且平臺未提供 LTI 平臺儲存，無法確認登入。請在新視窗開啟。",
        "The browser blocks third-party cookies and the platform offers no LTI platform "
        "storage, so the login cannot be confirmed. Open the tool in a new window.",
    ),
    "nonce_mismatch": (
        401,
        "id_token 的 nonce 與登入時發出的不同。",
        "The id_token's nonce is not the one issued at login.",
    ),
    "replayed_launch": (
        401,
        "這個 id_token 已經使用過了（重送攻擊防護）。請重新開啟活動。",
        "This id_token has already been used (replay protection). Launch the activity again.",
    ),
}


class LaunchRejected(PluginError):
    """A login or launch the tool refuses; ``code`` is one of :data:`REASONS`."""

    def __init__(self, code: str, **params: Any):
        status, _zh, english = REASONS[code]
        self.params = {key: str(value) for key, value in params.items()}
        super().__init__(english.format_map(_Default(self.params)), code=code)
        self.status = status

    @property
    def message_zh(self) -> str:
        """The reason in Traditional Chinese."""
        return REASONS[self.code][1].format_map(_Default(self.params))

    @property
    def message_en(self) -> str:
        """The reason in English."""
        return self.message


class _Default(dict[str, object]):
    """Leaves an unknown placeholder visible rather than failing the error page."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


# Dynamic registration refusals an LMS administrator sees in the platform's frame:
# code: (HTTP status, zh-TW text, English text).
REGISTRATION_REASONS: dict[str, tuple[int, str, str]] = {
    "registration_exists": (
        409,
        "本工具已有這個平臺的註冊（issuer {issuer}，client_id {client_id}）。動態註冊只能新增註冊，"
        "不會變更既有的註冊或部署；要變更請由管理員使用命令列 flask --app plugin platform ...。",
        "This tool already has a registration for the platform (issuer {issuer}, client_id "
        "{client_id}). Dynamic registration only adds new registrations and never changes an "
        "existing registration or deployment; an administrator changes registrations with the "
        "CLI: flask --app plugin platform ...",
    ),
    "openid_configuration_missing": (
        400,
        "缺少 openid_configuration：請從平臺的工具註冊畫面開啟此網址。",
        "openid_configuration is missing: open this URL from the platform's registration.",
    ),
    "registration_not_allowed": (
        400,
        "本工具不接受來自 {url} 的動態註冊；請管理員將平臺網址加入設定 "
        "lti.dynamic_registration_urls。",
        "This tool does not accept dynamic registration from {url}; its administrator must add "
        "the platform's URL to lti.dynamic_registration_urls.",
    ),
    "url_refused": (
        400,
        "{field} 必須是 http(s) 網址，且不得含使用者資訊或片段（#）：{reason}",
        "{field} must be an http(s) URL without user info or fragment: {reason}",
    ),
    "configuration_incomplete": (
        400,
        "平臺的設定缺少 {field}。",
        "The platform configuration lacks {field}.",
    ),
    "issuer_host_mismatch": (
        400,
        "平臺設定的 issuer {issuer} 與設定網址的主機 {host} 不同，"
        "不予註冊（LTI 動態註冊 §3.5.1）。",
        "The issuer {issuer} is not on the configuration URL's host {host} (LTI Dynamic "
        "Registration §3.5.1).",
    ),
    "rs256_unsupported": (
        400,
        "平臺不以 RS256 簽署 id_token，本工具無法驗證其啟動訊息。",
        "The platform does not sign id_tokens with RS256, so the tool cannot verify its launches.",
    ),
    "client_id_missing": (
        400,
        "平臺的註冊回應沒有 client_id。",
        "The platform's registration answer has no client_id.",
    ),
    "platform_unreachable": (
        400,
        "無法向平臺完成註冊：平臺沒有回應，或回應不符合 LTI 動態註冊的規定。詳細原因記錄在本工具的"
        "日誌中。",
        "The registration with the platform could not be completed: the platform did not answer "
        "or its answer is not what LTI Dynamic Registration expects. The tool's log has the "
        "details.",
    ),
}


class RegistrationError(PluginError):
    """A registration request (manual or dynamic) cannot be carried out."""

    code = "registration_failed"
    status = 400
    message_zh = ""

    @classmethod
    def coded(cls, code: str, *, field: str | None = None, **params: Any) -> RegistrationError:
        """The refusal ``code`` of :data:`REGISTRATION_REASONS`, in both languages."""
        status, chinese, english = REGISTRATION_REASONS[code]
        values = _Default({key: str(value) for key, value in params.items()})
        values.setdefault("field", field or "")
        error = cls(english.format_map(values), field=field, code=code)
        error.status = status
        error.message_zh = chinese.format_map(values)
        return error
