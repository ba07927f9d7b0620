package io.baton.router;

/**
 * An error to answer with OpenAI's error JSON, {@code {"error": {"message", "type", "param", "code"}}}, and an HTTP
 * status.
 *
 * @see <a href="https://platform.openai.com/docs/guides/error-codes">OpenAI error codes</a>
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;

    public ApiException(int status, String type, String param, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400: the request is malformed or out of range; {@code param} names the offending field (or null). */
    public static ApiException badRequest(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, null, message);
    }

    /** 400 for a feature Baton does not implement (rather than silently ignoring it). */
    public static ApiException unsupported(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, "unsupported_parameter", message);
    }

    public static ApiException modelNotFound(String model) {
        return new ApiException(404, "invalid_request_error", "model", "model_not_found",
                "The model '" + model + "' does not exist (see GET /v1/models).");
    }

    public static ApiException tooLarge(long limit) {
        return new ApiException(413, "invalid_request_error", null, "request_too_large",
                "Request body is larger than the limit of " + limit + " bytes.");
    }

    public static ApiException overloaded(String message) {
        return new ApiException(429, "rate_limit_error", null, "rate_limit_exceeded", message);
    }

    public static ApiException unavailable(String message) {
        return new ApiException(503, "server_error", null, "service_unavailable", message);
    }

    public static ApiException internal(String message) {
        return new ApiException(500, "server_error", null, "internal_error", message);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }
}
