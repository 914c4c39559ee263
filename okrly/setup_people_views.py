"""Setting people up (issue 16): the CSV import with its dry run, the people list with
their invitations, and the join page an invitation links to.

The import page keeps the CSV in its textarea after every check, so the admin fixes a row
in place and checks again; "Import" is offered only on a plan without errors, and the
server plans again before writing (the page may be stale).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_not_required, login_required
from django.contrib.auth.forms import SetPasswordForm
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.http import require_http_methods

from okrly import inviting, people_import
from okrly.access import can_set_up_people
from okrly.errors import NotAllowed, OKRlyError, RuleBroken
from okrly.invitations import (
    Invitation,
    Status,
    invitation_tokens,
    person_status,
    status_filter,
    timeout,
)
from okrly.models import Membership
from okrly.types import AuthedRequest

PAGE_SIZE = 50


def _require_staff(request: AuthedRequest) -> None:
    if not can_set_up_people(request.user):
        raise NotAllowed("Only administrators (staff) set up people.")


class ImportForm(forms.Form):
    csv_text = forms.CharField(
        label="CSV",
        required=False,
        strip=False,
        max_length=people_import.MAX_BYTES,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "class": "csv-text"}),
        help_text="Columns: name, e-mail, team, role, manager's e-mail, time zone.",
    )
    csv_file = forms.FileField(label="…or upload a CSV file", required=False)

    def clean(self) -> dict[str, Any] | None:
        data = super().clean() or {}
        upload = data.get("csv_file")
        if upload is not None:
            if upload.size > people_import.MAX_BYTES:
                self.add_error("csv_file", "The file is larger than 2 MB.")
                return data
            try:
                data["csv_text"] = people_import.decode_upload(upload.read())
            except OKRlyError as exc:
                self.add_error("csv_file", exc.message)
        elif not data.get("csv_text", "").strip() and "csv_text" not in self.errors:
            self.add_error("csv_text", "Paste the CSV, or choose a file to upload.")
        return data


@login_required
@require_http_methods(["GET", "POST"])
def people_import_page(request: AuthedRequest) -> HttpResponse:
    _require_staff(request)
    plan = None
    status = 200
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            text = form.cleaned_data["csv_text"]
            # What was uploaded goes into the textarea, to be fixed there and checked again.
            form = ImportForm({"csv_text": text})
            form.is_valid()
            if request.POST.get("action") == "import":
                try:
                    done = people_import.people_import_apply(text)
                except OKRlyError as exc:
                    messages.error(request, exc.message)
                    plan, status = people_import.people_import_plan(text), 400
                else:
                    counts = done.counts
                    messages.success(
                        request,
                        f"Imported: {counts['create']} created, {counts['update']} changed, "
                        f"{counts['unchanged']} unchanged. Invite them below.",
                    )
                    return redirect("setup_people")
            else:
                plan = people_import.people_import_plan(text)
        else:
            status = 400
    else:
        form = ImportForm()
    return render(
        request, "okrly/setup/people_import.html", {"form": form, "plan": plan}, status=status
    )


def _people(page_number: str | None, status: Status | None) -> Any:
    """A page of people (of one status, or all) with their profile, invitation and teams:
    three queries whatever the number of people (the count, the page, its memberships)."""
    now = timezone.now()
    people = (
        get_user_model()
        .objects.select_related("profile", "invitation")
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.select_related("team").order_by("team__name"),
            )
        )
        .order_by("first_name", "last_name", "username")
    )
    if status is not None:
        people = people.filter(status_filter(status, now))
    page = Paginator(people, PAGE_SIZE).get_page(page_number)
    for person in page.object_list:
        person.status = person_status(person, _invitation(person), now)
    return page


def _invitation(user: Any) -> Invitation | None:
    try:
        invitation: Invitation = user.invitation
    except Invitation.DoesNotExist:
        return None
    return invitation


@login_required
@require_http_methods(["GET"])
def people_page(request: AuthedRequest) -> HttpResponse:
    _require_staff(request)
    shown = request.GET.get("status") or None
    if shown is not None and shown not in Status.values:
        return HttpResponseBadRequest(
            f"Unknown status; use one of {', '.join(Status.values)}.",
            content_type="text/plain; charset=utf-8",
        )
    status = Status(shown) if shown else None
    return render(
        request,
        "okrly/setup/people.html",
        {
            "page": _people(request.GET.get("page"), status),
            "Status": Status,
            "shown": status,
            "statuses": Status.choices,
        },
    )


def _row_or_back(
    request: AuthedRequest, user_id: int, message: str, *, ok: bool = True
) -> HttpResponse:
    """htmx: the person's row again; a plain form post: back to the list with a message."""
    if request.htmx:
        person: Any = (
            get_user_model()
            .objects.select_related("profile", "invitation")
            .prefetch_related("memberships__team")
            .get(pk=user_id)
        )
        person.status = person_status(person, _invitation(person), timezone.now())
        return render(
            request,
            "okrly/setup/people.html#person-row",
            {"person": person, "Status": Status, "announce": message},
        )
    (messages.success if ok else messages.error)(request, message)
    return redirect("setup_people")


@login_required
@require_http_methods(["POST"])
def person_invite(request: AuthedRequest, user_id: int) -> HttpResponse:
    person = get_object_or_404(get_user_model(), pk=user_id)
    made = inviting.invitations_create(user_ids=[person.pk], by=request.user)
    if not made:
        # Someone invited them meanwhile, or they joined: the row shows how things stand.
        return _row_or_back(
            request,
            person.pk,
            f"{person} was not invited: already invited or joined, or no e-mail.",
            ok=False,
        )
    return _row_or_back(request, person.pk, f"Invitation queued for {person.email}.")


@login_required
@require_http_methods(["POST"])
def person_resend(request: AuthedRequest, user_id: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation.objects.select_related("user"), user_id=user_id)
    try:
        inviting.invitation_resend(invitation=invitation, by=request.user)
    except RuleBroken as exc:
        return _row_or_back(request, user_id, exc.message, ok=False)
    return _row_or_back(request, user_id, f"Invitation sent again to {invitation.user.email}.")


@login_required
@require_http_methods(["POST"])
def person_revoke(request: AuthedRequest, user_id: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation.objects.select_related("user"), user_id=user_id)
    try:
        inviting.invitation_revoke(invitation=invitation, by=request.user)
    except RuleBroken as exc:
        return _row_or_back(request, user_id, exc.message, ok=False)
    return _row_or_back(request, user_id, f"Invitation of {invitation.user.email} revoked.")


@login_required
@require_http_methods(["POST"])
def people_invite_all(request: AuthedRequest) -> HttpResponse:
    made = inviting.invitations_create_for_everyone(by=request.user)
    messages.success(request, f"{made} invitation(s) queued." if made else "Nobody to invite.")
    return redirect("setup_people")


# --- the join link ---------------------------------------------------------------------------


def _link(uidb64: str, token: str) -> tuple[Invitation | None, str]:
    """The invitation a join link stands for, or why it doesn't work (a sentence)."""
    invalid = "This link is not a valid invitation. Check you copied all of it."
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError):
        return None, invalid
    user = (
        get_user_model().objects.select_related("invitation").filter(pk=pk, is_active=True).first()
    )
    invitation = _invitation(user) if user is not None else None
    if user is None or invitation is None:
        return None, invalid
    if invitation.accepted_at is not None:
        return None, "This invitation was used already: sign in with the password you chose."
    if invitation.revoked_at is not None:
        return None, "This invitation was withdrawn. Ask your administrator for a new one."
    age = invitation_tokens.token_age(user, token)
    if age is None:
        current = invitation.send_count
        for earlier in range(1, current):
            invitation.send_count = earlier
            if invitation_tokens.token_age(user, token) is not None:
                invitation.send_count = current
                return None, "A newer invitation replaced this one: use the link of the latest."
        invitation.send_count = current
        return None, invalid
    if age > timeout().total_seconds():
        return None, (
            f"This invitation expired: its link works for {timeout().days} days. "
            "Ask your administrator to send it again."
        )
    return invitation, ""


@login_not_required
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """An invitation's link: choose a password, then you are signed in."""
    invitation, problem = _link(uidb64, token)
    if invitation is None:
        return render(request, "okrly/setup/join_invalid.html", {"problem": problem}, status=400)
    user = invitation.user
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not inviting.invitation_accept(
            invitation=invitation, password=form.cleaned_data["new_password1"]
        ):
            problem = "This invitation was withdrawn or used a moment ago."
            return render(
                request, "okrly/setup/join_invalid.html", {"problem": problem}, status=400
            )
        login(request, user, backend="okrly.backends.ProfileBackend")
        messages.success(request, "Welcome to OKRly: your password is set and you are signed in.")
        return redirect("home")
    return render(
        request,
        "okrly/setup/join.html",
        {"form": form, "person": user},
        status=400 if form.errors else 200,
    )
