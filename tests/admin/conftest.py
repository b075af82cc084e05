"""People with each editorial role, clients logged in as them, and helpers that act on the
admin the way a browser does: submit a page's form as it stands, or run a changelist action."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group
from django.test import Client
from django.urls import reverse

from projects.roles import EDITOR, REVIEWER

ROLES = ("anonymous", "editor", "reviewer", "superuser")
USERNAMES = {"editor": "ed", "reviewer": "rev", "superuser": "root"}


def _staff(username: str, group: str):
    user = get_user_model().objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return get_user_model().objects.get(pk=user.pk)  # no stale permission cache


@pytest.fixture
def editor(db):
    return _staff(USERNAMES["editor"], EDITOR)


@pytest.fixture
def reviewer(db):
    return _staff(USERNAMES["reviewer"], REVIEWER)


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser(USERNAMES["superuser"], password="x")


@pytest.fixture
def anonymous():
    return AnonymousUser()


@pytest.fixture
def client_as(request):
    """`client_as("editor")`: a test client logged in as that fixture's user (none for
    "anonymous")."""

    def login(role: str) -> Client:
        client = Client()
        user = request.getfixturevalue(role)
        if user.is_authenticated:
            client.force_login(user)
        return client

    return login


def admin_url(model, view: str, *args) -> str:
    """`admin_url(Project, "change", pk)` → /admin/projects/project/<pk>/change/."""
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def revert_url(obj, event_id: int) -> str:
    """The history page's "Revert to this version" for `obj` and the event `event_id`."""
    return admin_url(type(obj), "revert", obj.pk, event_id)


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response.url.startswith(reverse("admin:login"))


def run_action(client: Client, model, action: str, objects, **fields):
    """POST a changelist action on `objects`, as the changelist's action bar does."""
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(obj.pk) for obj in objects], **fields}
    return client.post(admin_url(model, "changelist"), data)


def action_names(client: Client, model) -> set[str]:
    """The actions a user is offered on the model's changelist."""
    response = client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    action_form = response.context["action_form"]
    if action_form is None:
        return set()
    return {name for name, _ in action_form.fields["action"].choices if name}


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


class _FormReader(HTMLParser):
    """Collect what a browser would submit from the form with the given id."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.select: dict | None = None
        self.option: dict | None = None
        self.textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {key: value if value is not None else "" for key, value in attrs}
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
            return
        name = attrs.get("name", "")
        if not self.inside:
            return
        if tag == "input" and name and "__prefix__" not in name:
            kind = attrs.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.fields.append((name, attrs.get("value", "on")))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self.fields.append((name, attrs.get("value", "")))
        elif tag == "select" and name and "__prefix__" not in name:
            self.select = {"name": name, "multiple": "multiple" in attrs, "options": []}
        elif tag == "option" and self.select is not None:
            self.option = {"value": attrs.get("value"), "selected": "selected" in attrs, "text": ""}
            self.select["options"].append(self.option)
        elif tag == "textarea" and name and "__prefix__" not in name:
            self.textarea = {"name": name, "text": ""}

    def handle_data(self, data):
        if self.option is not None and self.option["value"] is None:
            self.option["text"] += data
        if self.textarea is not None:
            self.textarea["text"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "option":
            self.option = None
        elif tag == "select" and self.select is not None:
            options = self.select["options"]
            chosen = [o for o in options if o["selected"]]
            if not chosen and options and not self.select["multiple"]:
                chosen = options[:1]
            for option in chosen:
                value = option["value"] if option["value"] is not None else option["text"]
                self.fields.append((self.select["name"], value.strip()))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            # A browser drops the newline that follows <textarea>.
            text = self.textarea["text"]
            self.fields.append((self.textarea["name"], text[1:] if text[:1] == "\n" else text))
            self.textarea = None


def form_data(response, form_id: str) -> dict:
    """What submitting the form `form_id` of a page, untouched, would send: values by name,
    a list where a name repeats. Empty inline templates (`__prefix__`) are left out."""
    reader = _FormReader(form_id)
    reader.feed(response.content.decode())
    data: dict = {}
    for name, value in reader.fields:
        if name in data:
            data[name] = [*(data[name] if isinstance(data[name], list) else [data[name]]), value]
        else:
            data[name] = value
    assert data, f"no form #{form_id} on the page"
    return data


@pytest.fixture
def form_as(client_as):
    """`form_as("editor", Project, project)`: the change (or, without an object, add) form as
    that user submits it untouched. Anonymous visitors cannot open it; theirs is the
    superuser's, to check that submitting it anyway changes nothing."""

    def read(role: str, model, obj=None) -> dict:
        return change_form(client_as("superuser" if role == "anonymous" else role), model, obj)

    return read


def change_form(client: Client, model, obj=None) -> dict:
    """The admin add (obj None) or change form of `model`, as a browser would submit it."""
    url = admin_url(model, "change", obj.pk) if obj is not None else admin_url(model, "add")
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return form_data(response, f"{model._meta.model_name}_form")
