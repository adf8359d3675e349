//! The management error catalogue: every `APIG.xxxx` code Causeway returns
//! from its management API, with its HTTP status and message, in one place.

use std::fmt;

/// One entry of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    pub status: u16,
    pub message: &'static str,
}

macro_rules! catalogue {
    ($($name:ident = ($code:literal, $status:literal, $msg:literal);)*) => {
        /// Every management error code, by name.
        pub mod codes {
            use super::Code;
            $(pub const $name: Code = Code { code: $code, status: $status, message: $msg };)*
        }
        /// The whole catalogue, for documentation and tests.
        pub const CATALOGUE: &[Code] = &[$(codes::$name),*];
    };
}

catalogue! {
    // 401 / 403: who may call
    TOKEN_INVALID = ("APIG.1002", 401, "Incorrect token or token resolution failed");
    NO_PERMISSION_METHOD = ("APIG.1005", 403, "No permissions to request this method");
    NO_PERMISSION_GROUP = ("APIG.1101", 403, "No permissions to operate the API group");
    NO_PERMISSION_ENV = ("APIG.1103", 403, "No permissions to operate the environment");
    SIGN_IN_THROTTLED = ("APIG.0308", 429, "Too many failed sign-ins from this address; try again in a minute");
    // 400: validation
    REQUIRED = ("APIG.2001", 400, "The request parameters must be specified");
    TOO_LONG = ("APIG.2006", 400, "The parameter value is too long");
    INVALID_VALUE = ("APIG.2011", 400, "Invalid parameter value");
    MALFORMED = ("APIG.2012", 400, "Invalid parameter value");
    INVALID_IP = ("APIG.2015", 400, "Invalid IP address");
    INVALID_URL_DOMAIN = ("APIG.2024", 400, "Invalid URL domain");
    INVALID_PORT = ("APIG.2025", 400, "Invalid port");
    PATH_PARAM_UNDEFINED = ("APIG.2026", 400, "The request path parameters are not defined");
    BACKEND_PATH_PARAM_UNDEFINED = ("APIG.2027", 400, "The backend path parameters are not defined");
    MAPPED_PARAM_UNDEFINED = ("APIG.2028", 400, "The mapped request parameter is not defined");
    AUTHORIZER_NOT_ALLOWED = ("APIG.2036", 400, "A custom authorizer can only be set for APIs using AUTHORIZER authentication");
    CERT_KEY_MISMATCH = ("APIG.2101", 400, "The certificate and private key do not match");
    CERT_EXPIRED = ("APIG.2102", 400, "The certificate has expired");
    CERT_NAME_MISMATCH = ("APIG.2103", 400, "The certificate common name does not match the domain name");
    CERT_CHAIN_MISMATCH = ("APIG.2104", 400, "The certificate chain is not matched");
    CERT_KEY_ENCRYPTED = ("APIG.2105", 400, "Encrypted private keys are not supported");
    CERT_INVALID = ("APIG.2106", 400, "Invalid certificate or private key");
    // 404: not found
    RESOURCE_NOT_FOUND = ("APIG.3000", 404, "The requested resource does not exist");
    GROUP_NOT_FOUND = ("APIG.3001", 404, "The API group does not exist");
    API_NOT_FOUND = ("APIG.3002", 404, "The API does not exist");
    ENV_NOT_FOUND = ("APIG.3003", 404, "The environment does not exist");
    APP_NOT_FOUND = ("APIG.3004", 404, "The app does not exist");
    THROTTLE_NOT_FOUND = ("APIG.3005", 404, "The request throttling policy does not exist");
    ACL_NOT_FOUND = ("APIG.3006", 404, "The access control policy does not exist");
    APP_AUTH_NOT_FOUND = ("APIG.3009", 404, "The app authorization does not exist");
    ACL_BINDING_NOT_FOUND = ("APIG.3010", 404, "The access control policy binding does not exist");
    VARIABLE_NOT_FOUND = ("APIG.3011", 404, "The environment variable does not exist");
    THROTTLE_BINDING_NOT_FOUND = ("APIG.3012", 404, "The request throttling policy binding does not exist");
    THROTTLE_SPECIAL_NOT_FOUND = ("APIG.3013", 404, "The excluded request throttling configuration does not exist");
    PUBLICATION_NOT_FOUND = ("APIG.3015", 404, "The API is not published in the environment");
    SIGN_KEY_NOT_FOUND = ("APIG.3017", 404, "The signature key does not exist");
    SIGN_BINDING_NOT_FOUND = ("APIG.3018", 404, "The signature key binding does not exist");
    FUNCTION_NOT_FOUND = ("APIG.3019", 404, "The function does not exist");
    DOMAIN_NOT_FOUND = ("APIG.3020", 404, "The domain name does not exist");
    CERTIFICATE_NOT_FOUND = ("APIG.3021", 404, "The SSL certificate does not exist");
    VERSION_NOT_FOUND = ("APIG.3022", 404, "The API version does not exist");
    CHANNEL_NOT_FOUND = ("APIG.3023", 404, "The load-balance channel does not exist");
    MEMBER_NOT_FOUND = ("APIG.3024", 404, "The member of the load-balance channel does not exist");
    MEMBER_GROUP_NOT_FOUND = ("APIG.3025", 404, "The member group of the load-balance channel does not exist");
    RESPONSE_NOT_FOUND = ("APIG.3074", 404, "The gateway response does not exist");
    AUTHORIZER_NOT_FOUND = ("APIG.3081", 404, "The custom authorizer does not exist");
    ADMIN_CREDENTIAL_NOT_FOUND = ("APIG.3097", 404, "The admin credential does not exist");
    INSTANCE_NOT_FOUND = ("APIG.3030", 404, "The instance does not exist");
    APP_CODE_NOT_FOUND = ("APIG.3082", 404, "The AppCode does not exist");
    // 403: quotas
    GROUP_QUOTA = ("APIG.3101", 403, "The number of API groups has reached the limit");
    API_QUOTA = ("APIG.3102", 403, "The number of APIs in the group has reached the limit");
    APP_QUOTA = ("APIG.3103", 403, "The number of apps has reached the limit");
    ENV_QUOTA = ("APIG.3104", 403, "The number of environments has reached the limit");
    VARIABLE_QUOTA = ("APIG.3106", 403, "The number of environment variables has reached the limit");
    THROTTLE_QUOTA = ("APIG.3107", 403, "The number of request throttling policies has reached the limit");
    DOMAIN_QUOTA = ("APIG.3108", 403, "The number of domain names bound to the API group has reached the limit");
    CHANNEL_QUOTA = ("APIG.3109", 403, "The number of load-balance channels has reached the limit");
    PARAM_QUOTA = ("APIG.3111", 403, "The number of request parameters has reached the limit");
    POLICY_QUOTA = ("APIG.3113", 403, "The number of backend policies has reached the limit");
    CONDITION_QUOTA = ("APIG.3114", 403, "The number of policy conditions has reached the limit");
    AUTHORIZER_QUOTA = ("APIG.3116", 403, "The number of custom authorizers has reached the limit");
    IDENTITY_QUOTA = ("APIG.3117", 403, "The number of identity sources of the custom authorizer has reached the limit");
    APP_CODE_QUOTA = ("APIG.3131", 403, "The number of AppCodes of the app has reached the limit");
    RESPONSE_QUOTA = ("APIG.3136", 403, "The number of gateway responses of the group has reached the limit");
    // 400: duplicates
    GROUP_NAME_EXISTS = ("APIG.3201", 400, "The API group name already exists");
    API_NAME_EXISTS = ("APIG.3202", 400, "The API name already exists");
    APP_NAME_EXISTS = ("APIG.3203", 400, "The app name already exists");
    THROTTLE_NAME_EXISTS = ("APIG.3204", 400, "The request throttling policy name already exists");
    ENV_NAME_EXISTS = ("APIG.3205", 400, "The environment name already exists");
    ACL_NAME_EXISTS = ("APIG.3206", 400, "The access control policy name already exists");
    SIGN_KEY_NAME_EXISTS = ("APIG.3207", 400, "The signature key name already exists");
    CHANNEL_NAME_EXISTS = ("APIG.3208", 400, "The load-balance channel name already exists");
    PARAM_NAME_EXISTS = ("APIG.3209", 400, "The parameter name already exists");
    FUNCTION_NAME_EXISTS = ("APIG.3225", 400, "The function name already exists in the package");
    POLICY_NAME_EXISTS = ("APIG.3210", 400, "The backend policy name already exists");
    AUTHORIZER_NAME_EXISTS = ("APIG.3211", 400, "The custom authorizer name already exists");
    RESPONSE_NAME_EXISTS = ("APIG.3212", 400, "The gateway response name already exists in the group");
    ADMIN_CREDENTIAL_NAME_EXISTS = ("APIG.3217", 400, "The admin credential name already exists");
    API_EXISTS = ("APIG.3301", 400, "The API already exists: another API of the group has the same method, path, match mode and required query parameters");
    VARIABLE_EXISTS = ("APIG.3303", 400, "The environment variable already exists");
    DOMAIN_EXISTS = ("APIG.3305", 400, "The domain name is already bound to an API group");
    APP_KEY_EXISTS = ("APIG.3310", 400, "The AppKey already exists");
    // 403: state conflicts
    GROUP_HAS_APIS = ("APIG.3415", 403, "The API group contains APIs and cannot be deleted");
    API_PUBLISHED = ("APIG.3416", 403, "The API has been published and cannot be deleted");
    ENV_HAS_APIS = ("APIG.3418", 403, "The environment has published APIs and cannot be deleted");
    ACL_BOUND = ("APIG.3452", 403, "The access control policy is bound to APIs and cannot be deleted");
    THROTTLE_BOUND = ("APIG.3453", 403, "The request throttling policy is bound to APIs and cannot be deleted");
    SIGN_KEY_BOUND = ("APIG.3451", 403, "The signature key is bound to APIs and cannot be deleted");
    AUTHORIZER_IN_USE = ("APIG.3462", 403, "APIs use the custom authorizer; it cannot be deleted");
    CHANNEL_IN_USE = ("APIG.3450", 403, "APIs use the load-balance channel; it cannot be deleted");
    FUNCTION_IN_USE = ("APIG.3461", 403, "Published APIs call the function; it cannot be deleted");
    // 400: OpenAPI (Swagger) import
    SWAGGER_FORMAT = ("APIG.3600", 400, "Json or Yaml format error");
    SWAGGER_SYNTAX = ("APIG.3602", 400, "Syntax error in the Swagger file");
    SWAGGER_TOO_LONG = ("APIG.3603", 400, "The Swagger file content is too long");
    SWAGGER_EMPTY = ("APIG.3609", 400, "The input file is empty");
    // 409: built-in gateway responses
    DEFAULT_RESPONSE_UNDELETABLE = ("APIG.3491", 409, "The default gateway response cannot be deleted");
    DEFAULT_RESPONSE_UNRENAMABLE = ("APIG.3492", 409, "The default gateway response cannot be renamed");
    // 500
    // 503: the store cannot be reached (Causeway)
    STORE_UNAVAILABLE = ("APIG.9998", 503, "The configuration store cannot be reached. Try again shortly");
    SYSTEM = ("APIG.9999", 500, "System error");
}

/// A management API error: the documented code, its HTTP status and the message sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub status: u16,
    pub message: String,
}

impl ApiError {
    /// The catalogue message as is.
    pub fn new(code: Code) -> Self {
        Self { code: code.code, status: code.status, message: code.message.to_string() }
    }

    /// The catalogue message naming the offending field, in the form the
    /// cloud gateways use (`...,parameterName:name. Please refer to the support documentation`).
    pub fn field(code: Code, field: &str) -> Self {
        Self {
            code: code.code,
            status: code.status,
            message: format!("{},parameterName:{field}. Please refer to the support documentation", code.message),
        }
    }

    /// The field form followed by why the value is refused.
    pub fn field_because(code: Code, field: &str, why: &str) -> Self {
        Self { code: code.code, status: code.status, message: format!("{},parameterName:{field}. {why}", code.message) }
    }

    /// The catalogue message followed by a detail.
    pub fn detail(code: Code, detail: &str) -> Self {
        Self { code: code.code, status: code.status, message: format!("{}: {detail}", code.message) }
    }

    pub fn required(field: &str) -> Self {
        Self::field(codes::REQUIRED, field)
    }

    pub fn invalid(field: &str) -> Self {
        Self::field(codes::INVALID_VALUE, field)
    }

    pub fn malformed(field: &str) -> Self {
        Self::field(codes::MALFORMED, field)
    }

    /// An unexpected failure; the cause is logged by the caller, never sent.
    pub fn system() -> Self {
        Self::new(codes::SYSTEM)
    }

    /// The JSON error body `{"error_code","error_msg"}`.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "error_code": self.code, "error_msg": self.message })
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

pub type Result<T> = std::result::Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_message_matches_the_documented_form() {
        let e = ApiError::invalid("name");
        assert_eq!(e.code, "APIG.2011");
        assert_eq!(e.status, 400);
        assert_eq!(
            e.message,
            "Invalid parameter value,parameterName:name. Please refer to the support documentation"
        );
    }

    #[test]
    fn codes_are_unique_and_statuses_match_their_family() {
        let mut seen = std::collections::HashSet::new();
        for c in CATALOGUE {
            assert!(seen.insert(c.code), "duplicate {}", c.code);
            let n: u32 = c.code["APIG.".len()..].parse().unwrap();
            let family = match n {
                308 => 429,
                1005 => 403,
                1000..=1013 => 401,
                1020..=1301 => 403,
                2000..=2109 => 400,
                3000..=3097 => 404,
                3100..=3151 => 403,
                3201..=3332 => 400,
                3411..=3474 => 403,
                3600..=3609 => 400,
                3491..=3492 => 409,
                9998 => 503,
                9999 => 500,
                _ => panic!("unexpected code {}", c.code),
            };
            assert_eq!(c.status, family, "{}", c.code);
        }
    }
}
