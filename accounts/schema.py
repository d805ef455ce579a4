"""drf-spectacular: describe our organization-bound JWT authentication in the OpenAPI schema."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class OrganizationJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.OrganizationJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        definition = super().get_security_definition(auto_schema)
        definition["description"] = (
            "Access token from POST /api/v1/auth/verify-otp. Valid only on the organization's own hosts."
        )
        return definition


def strip_trailing_slashes(result, generator, request, public):
    """Routes accept an optional trailing slash (`/?`); publish the CONTRACT.md spelling without it."""
    result["paths"] = {
        (path.rstrip("/") if path != "/" else path): item for path, item in result.get("paths", {}).items()
    }
    return result
