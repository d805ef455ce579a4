"""tenants pages on the organization host."""

urlpatterns: list = []
