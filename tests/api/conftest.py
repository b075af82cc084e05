import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture
def api():
    return APIClient(HTTP_ACCEPT="application/json")


@pytest.fixture
def make_user(db):
    """A user holding the given permissions ("projects.add_project", …), with a token."""

    def make(username: str, *permissions: str):
        user = get_user_model().objects.create_user(username, password="x")
        for permission in permissions:
            app_label, codename = permission.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        Token.objects.create(user=user)
        return get_user_model().objects.get(pk=user.pk)

    return make


def token_client(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT="application/json")
    client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
    return client
