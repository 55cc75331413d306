"""Forms of the feedback pages. They parse and validate input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Exists, OuterRef, QuerySet

from apps.accounts.models import User
from apps.accounts.roles import COE_STAFF
from apps.core.models import GuidanceArea, VersionState
from apps.governance.models import Policy, PolicyVersion
from apps.library.models import Template, TemplateVersion
from apps.registry.models import AIModel, LifecycleStage, Workload

from .models import DigestPreference, Lesson, Subject, Thread

READABLE = (VersionState.PUBLISHED, VersionState.DEPRECATED)
RATING_CHOICES = [
    ("", "No rating"),
    ("1", "1 · not at all"),
    ("2", "2 · poorly"),
    ("3", "3 · partly"),
    ("4", "4 · well"),
    ("5", "5 · very well"),
]
OPEN = ("open", "Open")


def _any(label: str, choices: Any) -> list[tuple[str, str]]:
    return [("", label), *choices]


def coe_staff() -> QuerySet[User]:
    return User.objects.filter(groups__name=COE_STAFF, is_active=True).order_by("first_name", "last_name", "username")


def published_templates(user: User) -> QuerySet[Template]:
    """Templates the person may give feedback on: something published (the CoE: any)."""
    qs = Template.objects.order_by("title")
    if not user.is_coe_staff:
        qs = qs.filter(Exists(TemplateVersion.objects.filter(template=OuterRef("pk"), state__in=READABLE)))
    return qs


def published_policies(user: User) -> QuerySet[Policy]:
    qs = Policy.objects.order_by("title")
    if not user.is_coe_staff:
        qs = qs.filter(Exists(PolicyVersion.objects.filter(policy=OuterRef("pk"), state__in=READABLE)))
    return qs


def workloads_for(user: User) -> QuerySet[Workload]:
    """Workloads the person may open a thread about: their teams' (the CoE: every one), not retired."""
    qs = Workload.objects.exclude(lifecycle_stage=LifecycleStage.RETIRED).select_related("team")
    if not user.is_coe_staff:
        qs = qs.filter(team__in=user.team_ids)
    return qs.order_by("name")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


class WorkloadChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Workload) -> str:
        return f"{obj.name} ({obj.team.name})"


class ModelChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: AIModel) -> str:
        return obj.display_name


def _live_preview(field: forms.Field, url: str, target: str) -> None:
    """Markdown previewed as it is typed (htmx posts the form to ``url`` with ``preview``)."""
    field.widget.attrs.update({
        "hx-post": url, "hx-trigger": "keyup changed delay:500ms", "hx-target": f"#{target}",
        "hx-vals": '{"preview": "1"}', "hx-swap": "innerHTML", "aria-controls": target,
    })  # fmt: skip


# --- Lists ------------------------------------------------------------------------------------------


class ThreadFilterForm(forms.Form):
    q = forms.CharField(
        required=False, label="Search", max_length=200,
        widget=forms.SearchInput(attrs={"placeholder": "Title or text of the posts"}),
    )  # fmt: skip
    kind = forms.ChoiceField(choices=_any("All kinds", Thread.Kind.choices), required=False)
    status = forms.ChoiceField(choices=_any("Any status", [OPEN, *Thread.Status.choices]), required=False)
    subject = forms.ChoiceField(choices=_any("Anything", Subject.choices), required=False, label="About")
    guidance_area = forms.ChoiceField(choices=_any("All areas", GuidanceArea.choices), required=False, label="Area")
    # The feedback panel's "all threads" link narrows the list to one item.
    template = forms.SlugField(required=False, widget=forms.HiddenInput)
    policy = forms.SlugField(required=False, widget=forms.HiddenInput)
    workload = forms.SlugField(required=False, widget=forms.HiddenInput)
    model = forms.SlugField(required=False, widget=forms.HiddenInput)

    FILTERS = ("q", "kind", "status", "subject", "guidance_area", "template", "policy", "workload", "model")

    def filters(self) -> dict[str, str]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: (data.get(name) or "").strip() for name in self.FILTERS}

    def has_filters(self) -> bool:
        return any(self.filters().values())


class TriageFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[OPEN, ("", "Any status"), *Thread.Status.choices], required=False)
    kind = forms.ChoiceField(choices=_any("All kinds", Thread.Kind.choices), required=False)
    guidance_area = forms.ChoiceField(choices=_any("All areas", GuidanceArea.choices), required=False, label="Area")
    subject = forms.ChoiceField(choices=_any("Anything", Subject.choices), required=False, label="About")
    older_than_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, label="Older than (days)",
        widget=forms.NumberInput(attrs={"min": 1, "max": 3650, "placeholder": "e.g. 7"}),
    )  # fmt: skip
    owner = forms.ChoiceField(required=False)

    FILTERS = ("status", "kind", "guidance_area", "subject", "older_than_days", "owner")

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        if data is not None and "status" not in data:  # the queue opens on what is still open
            data = data.copy()
            data["status"] = "open"
        super().__init__(data, **kwargs)
        staff = [(u.username, u.display_name) for u in coe_staff()]
        self.fields["owner"].choices = [("", "Anyone"), ("none", "Nobody (unassigned)"), *staff]

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        filters: dict[str, Any] = {name: data.get(name) or "" for name in self.FILTERS}
        if self.is_bound and "status" in self.errors:
            filters["status"] = "open"
        return filters


# --- Threads and posts --------------------------------------------------------------------------------


class ThreadCreateForm(forms.Form):
    subject = forms.ChoiceField(choices=Subject.choices, initial=Subject.GENERAL, label="About",
                                widget=forms.RadioSelect)  # fmt: skip
    template = forms.ModelChoiceField(queryset=Template.objects.none(), to_field_name="slug", required=False,
                                      empty_label="Choose a template")  # fmt: skip
    policy = forms.ModelChoiceField(queryset=Policy.objects.none(), to_field_name="slug", required=False,
                                    empty_label="Choose a policy")  # fmt: skip
    workload = WorkloadChoiceField(queryset=Workload.objects.none(), to_field_name="slug", required=False,
                                   empty_label="Choose one of your team's workloads")  # fmt: skip
    model = ModelChoiceField(queryset=AIModel.objects.none(), to_field_name="slug", required=False,
                             empty_label="Choose a model", label="Model")  # fmt: skip
    version = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=Thread.Kind.choices, initial=Thread.Kind.QUESTION, widget=forms.RadioSelect)
    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    body = forms.CharField(
        label="What happened", max_length=20_000, widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Markdown: **bold**, lists, `code`, links.",
    )  # fmt: skip
    rating = forms.TypedChoiceField(
        choices=RATING_CHOICES, coerce=int, empty_value=None, required=False, widget=forms.RadioSelect,
        label="How well did the guidance work for you?", help_text="For a policy or a template only.",
    )  # fmt: skip

    SUBJECT_FIELDS = ("template", "policy", "workload", "model")

    def __init__(self, *args: Any, user: User, fixed: bool = False, preview_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fixed = fixed  # the subject came with the link (?template=…): not chosen here
        self.fields["template"].queryset = published_templates(user)
        self.fields["policy"].queryset = published_policies(user)
        self.fields["workload"].queryset = workloads_for(user)
        self.fields["model"].queryset = AIModel.objects.order_by("display_name")
        if fixed:
            for name in ("subject", *self.SUBJECT_FIELDS):
                self.fields[name].widget = forms.HiddenInput()
        if preview_url:
            _live_preview(self.fields["body"], preview_url, "thread-preview")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        subject = data.get("subject")
        if subject in self.SUBJECT_FIELDS and not data.get(subject) and subject not in self.errors:
            self.add_error(subject if not self.fixed else None, f"Choose the {subject} it is about.")
        for name in self.SUBJECT_FIELDS:  # only the chosen subject counts
            if name != subject:
                data[name] = None
        data["resolved_version"] = None
        document = data.get(subject) if subject in (Subject.TEMPLATE, Subject.POLICY) else None
        if document is not None:
            versions = document.versions.filter(state__in=READABLE)
            number = (data.get("version") or "").strip()
            version = versions.filter(number=number).first() if number else versions.filter(is_current=True).first()
            if number and version is None:
                self.add_error(None, f"Version {number} of {document} is not published.")
            data["resolved_version"] = version
        return data

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        kwargs: dict[str, Any] = {"title": data["title"], "body": data["body"], "kind": data["kind"],
                                  "rating": data.get("rating")}  # fmt: skip
        subject, version = data["subject"], data.get("resolved_version")
        if subject == Subject.TEMPLATE:
            kwargs.update(template=data["template"], template_version=version)
        elif subject == Subject.POLICY:
            kwargs.update(policy=data["policy"], policy_version=version)
        elif subject == Subject.WORKLOAD:
            kwargs["workload"] = data["workload"]
        elif subject == Subject.MODEL:
            kwargs["ai_model"] = data["model"]
        return kwargs


class PostForm(forms.Form):
    body = forms.CharField(
        label="Your reply", max_length=20_000, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Markdown: **bold**, lists, `code`, links.",
    )  # fmt: skip

    def __init__(self, *args: Any, preview_url: str = "", preview_target: str = "reply-preview", **kwargs: Any):
        super().__init__(*args, **kwargs)
        if preview_url:
            _live_preview(self.fields["body"], preview_url, preview_target)


class PostEditForm(forms.Form):
    body = forms.CharField(label="Text", max_length=20_000, widget=forms.Textarea(attrs={"rows": 5}))


class HideForm(forms.Form):
    reason = forms.CharField(
        max_length=300, label="Why hide it",
        widget=forms.TextInput(attrs={"placeholder": "e.g. abusive language", "autocomplete": "off"}),
    )  # fmt: skip


class FollowForm(forms.Form):
    on = forms.TypedChoiceField(choices=[("1", "Follow"), ("0", "Unfollow")], coerce=lambda v: v == "1")


class TriageForm(forms.Form):
    status = forms.ChoiceField(choices=Thread.Status.choices)
    owner = UserChoiceField(queryset=User.objects.none(), required=False, empty_label="Nobody (unassigned)",
                            help_text="The CoE staff member who looks after it.")  # fmt: skip
    comment = forms.CharField(
        required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Posted to the thread and sent to its author and followers. Required when declining.",
    )  # fmt: skip
    addressed_in = forms.ChoiceField(
        required=False, label="Addressed in",
        help_text="The published version of the guidance that took the feedback in.",
    )  # fmt: skip

    def __init__(self, *args: Any, thread: Thread, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"triage-{thread.pk}-%s")
        super().__init__(*args, **kwargs)
        self.thread = thread
        self.fields["owner"].queryset = coe_staff()
        self.fields["addressed_in"].choices = [("", "Not linked"), *self._versions(thread)]
        if not self.is_bound:
            addressed = thread.addressed_in
            self.initial.update(status=thread.status, owner=thread.owner_id,
                                addressed_in=self._key(addressed) if addressed else "")  # fmt: skip

    @staticmethod
    def _key(version: TemplateVersion | PolicyVersion) -> str:
        return f"{'template' if isinstance(version, TemplateVersion) else 'policy'}:{version.pk}"

    def _versions(self, thread: Thread) -> list[tuple[str, list[tuple[str, str]]]]:
        """The thread's own template's or policy's published versions; for anything else every
        published version of every template and policy, newest first, grouped by document."""
        templates = TemplateVersion.objects.filter(state__in=READABLE).select_related("template")
        policies = PolicyVersion.objects.filter(state__in=READABLE).select_related("policy")
        if thread.template_id:
            templates, policies = templates.filter(template=thread.template_id), policies.none()
        elif thread.policy_id:
            templates, policies = templates.none(), policies.filter(policy=thread.policy_id)
        groups: dict[str, list[tuple[str, str]]] = {}
        newest = ("-major", "-minor", "-patch")
        templates = templates.order_by("template__title", *newest)
        policies = policies.order_by("policy__title", *newest)
        for kind, versions in (("Template", templates), ("Policy", policies)):
            for version in versions:
                label = f"{version.number}{' (current)' if version.is_current else ''}"
                groups.setdefault(f"{kind}: {version.document}", []).append((self._key(version), label))
        return list(groups.items())

    def clean_addressed_in(self) -> TemplateVersion | PolicyVersion | None:
        value = self.cleaned_data.get("addressed_in") or ""
        if not value:
            return None
        kind, _, pk = value.partition(":")
        model = TemplateVersion if kind == "template" else PolicyVersion
        return model.objects.filter(pk=pk, state__in=READABLE).first()

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        addressed = data.get("addressed_in")
        if addressed is not None and self.thread.addressed_in == addressed:
            addressed = None  # already linked: not a change
        return {"status": data["status"], "owner": data.get("owner"), "comment": data.get("comment") or "",
                "addressed_in": addressed}  # fmt: skip


class AssignForm(forms.Form):
    """The triage queue's quick assignment: the owner only."""

    owner = UserChoiceField(queryset=User.objects.none(), required=False, empty_label="Nobody")

    def __init__(self, *args: Any, thread: Thread, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"assign-{thread.pk}-%s")
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = coe_staff()
        if not self.is_bound:
            self.initial["owner"] = thread.owner_id


# --- Lessons ----------------------------------------------------------------------------------------------


class ThreadChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Thread) -> str:
        about = obj.about
        return f"#{obj.pk} {obj.title}" + (f" ({about})" if about else "")


class LessonForm(forms.Form):
    title = forms.CharField(max_length=200)
    summary = forms.CharField(max_length=300, help_text="One sentence, for the notification and the digest.")
    body = forms.CharField(max_length=20_000, widget=forms.Textarea(attrs={"rows": 10}),
                           help_text="Markdown: what the teams should know or do.")  # fmt: skip
    threads = ThreadChoiceField(queryset=Thread.objects.none(), required=False, label="From the threads",
                                widget=forms.SelectMultiple(attrs={"size": 6}),
                                help_text="Their authors and followers receive the lesson too.")  # fmt: skip
    template = forms.ModelChoiceField(queryset=Template.objects.none(), to_field_name="slug", required=False,
                                      empty_label="No template")  # fmt: skip
    policy = forms.ModelChoiceField(queryset=Policy.objects.none(), to_field_name="slug", required=False,
                                    empty_label="No policy")  # fmt: skip
    ai_model = ModelChoiceField(queryset=AIModel.objects.none(), to_field_name="slug", required=False,
                                empty_label="No model", label="Model")  # fmt: skip
    audience = forms.ChoiceField(
        choices=Lesson.Audience.choices, initial=Lesson.Audience.CONCERNED, widget=forms.RadioSelect,
        help_text="The teams it concerns: every workload that uses the template, model or policy, and the people "
        "in its threads.",
    )  # fmt: skip

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["threads"].queryset = Thread.objects.select_related(
            "template", "policy", "workload", "ai_model"
        ).order_by("-created_at", "-id")
        self.fields["template"].queryset = published_templates(user)
        self.fields["policy"].queryset = published_policies(user)
        self.fields["ai_model"].queryset = AIModel.objects.order_by("display_name")

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class DigestPreferenceForm(forms.Form):
    frequency = forms.ChoiceField(
        choices=DigestPreference.Frequency.choices, widget=forms.RadioSelect, label="Send me the feedback digest",
        help_text="New lessons, replies in your threads and guidance changes for your workloads, by email.",
    )  # fmt: skip
