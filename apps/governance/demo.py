"""Demo data of governance for ``make run``: the CoE's policies and controls, and where the demo
portfolio stands against them.

Policies, versions and controls are written through ``apps.governance.services`` by the CoE staff
member ``coe``; attestations and waiver requests by each workload's team owner; waiver decisions
and the release approval by ``coe``; automated check results through ``check_record`` with the
metrics telemetry would hand over. So the audit trail, the validations and the publish hook are the
real ones. The story it leaves behind:

- eight policies over the four guidance areas, one of them (human oversight) in two versions: v2
  tightens the human-review control, so the high-risk workloads that have not re-attested since
  show "attestation due";
- production workloads with check results: most passing, a few failing, some metrics missing;
- pilot workloads with attestations but no check results yet ("not yet evaluated");
- a waiver awaiting the CoE, an approved one that holds, and an approved one that has run out;
- one high-risk draft release approved by the CoE, another still awaiting approval.

``seed()`` is idempotent: policies are keyed on their slug, versions on (policy, number), controls
on (version, key); attestations, check results, waivers and approvals are skipped when they exist.
``apps.accounts.demo`` (people) and ``apps.registry.demo`` (workloads, releases) run first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.models import Membership, User
from apps.core.models import GuidanceArea, Notification
from apps.registry.models import Release, Workload

from . import services
from .models import (
    Attestation,
    CheckResult,
    Control,
    Metric,
    Policy,
    PolicyVersion,
    ReleaseApproval,
    ThresholdSource,
    Waiver,
)

COE_USERNAME = "coe"

SECURITY, INFRASTRUCTURE = GuidanceArea.SECURITY_GOVERNANCE, GuidanceArea.INFRASTRUCTURE
COST, MONITORING = GuidanceArea.COST, GuidanceArea.MONITORING
ATTESTATION, AUTOMATED = Control.Kind.ATTESTATION, Control.Kind.AUTOMATED

PUBLIC, INTERNAL, CONFIDENTIAL, RESTRICTED = "public", "internal", "confidential", "restricted"
LIMITED, HIGH = "limited", "high"
DEVELOPMENT, PILOT, PRODUCTION = "development", "pilot", "production"
LIVE = (PILOT, PRODUCTION)


# --- Policies -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoControl:
    key: str
    title: str
    statement: str
    rationale: str
    kind: str
    risk_tiers: tuple[str, ...] = ()
    data_classifications: tuple[str, ...] = ()
    lifecycle_stages: tuple[str, ...] = ()
    attestation_valid_days: int | None = None
    metric: str = ""
    operator: str = ""
    threshold: str | None = None
    threshold_source: str = ThresholdSource.FIXED
    window_days: int = 7

    def fields(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "statement": self.statement,
            "rationale": self.rationale,
            "kind": self.kind,
            "risk_tiers": list(self.risk_tiers),
            "data_classifications": list(self.data_classifications),
            "lifecycle_stages": list(self.lifecycle_stages),
            "attestation_valid_days": self.attestation_valid_days,
            "metric": self.metric,
            "operator": self.operator,
            "threshold": None if self.threshold is None else Decimal(self.threshold),
            "threshold_source": self.threshold_source,
            "window_days": self.window_days,
        }


def attestation(
    key: str, title: str, statement: str, rationale: str, *, risk: tuple[str, ...] = (),
    data: tuple[str, ...] = (), stages: tuple[str, ...] = LIVE, valid_days: int | None = None,
) -> DemoControl:  # fmt: skip
    return DemoControl(key, title, statement, rationale, ATTESTATION, risk, data, stages, valid_days)


def check(
    key: str, title: str, statement: str, rationale: str, *, metric: str, operator: str,
    threshold: str | None = None, source: str = ThresholdSource.FIXED, window_days: int = 7,
    risk: tuple[str, ...] = (), stages: tuple[str, ...] = LIVE,
) -> DemoControl:  # fmt: skip
    return DemoControl(
        key, title, statement, rationale, AUTOMATED, risk, (), stages, None, metric, operator, threshold, source,
        window_days,
    )  # fmt: skip


@dataclass(frozen=True)
class DemoPolicyVersion:
    number: str
    body: str
    refs: tuple[tuple[str, str], ...]  # (framework, reference)
    controls: tuple[DemoControl, ...]
    age_days: int  # how long ago it was written; published two days later
    changelog: str = ""
    grace_days: int = 30  # effective this long after publication
    later: bool = False  # published after the first round of attestations (so those fall due)


@dataclass(frozen=True)
class DemoPolicy:
    title: str
    category: str
    summary: str
    tags: tuple[str, ...]
    versions: tuple[DemoPolicyVersion, ...]  # in number order

    @property
    def slug(self) -> str:
        return slugify(self.title)[:160]


def refs(*pairs: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return pairs


EU, ISO, NIST, OTHER = "eu_ai_act", "iso_42001", "nist_ai_rmf", "other"

# 1. Human oversight (two versions) ------------------------------------------------------------------

OVERSIGHT_1 = """# Human oversight of automated decisions

## Purpose

Generative AI may prepare a decision; a person makes it. This policy sets the minimum human
oversight for workloads whose outputs affect customers, claimants, applicants or employees.

## Scope

Every **high-risk** workload in pilot or production (the risk tier is recorded in the registry).
Lower tiers follow the same principles wherever outputs reach people outside the team.

## Requirements

1. **Review before effect.** A trained person reviews each consequential output before it takes
   effect. The system recommends; the reviewer decides.
2. **Override and stop.** Reviewers can reject or correct any output. The service owner can switch
   the AI step off without a release and fall back to the manual process.
3. **Competent reviewers.** Reviewers know what the system is for, where it is weak, and the risk
   of automation bias: trusting an answer because it reads fluently.

## Evidence

Attest each control on the workload's governance page and link the procedure or runbook that
shows it. An attestation of reviewer training holds for a year.

## Why

The EU AI Act (Art. 14) requires high-risk systems to be overseen effectively by people;
ISO/IEC 42001 (A.9.2) and the NIST AI RMF (GOVERN 3.2, MAP 3.5) ask for defined roles and
documented processes for human oversight.
"""

OVERSIGHT_2 = """# Human oversight of automated decisions

## Purpose

Generative AI may prepare a decision; a person makes it. This policy sets the minimum human
oversight for workloads whose outputs affect customers, claimants, applicants or employees.

## Scope

Every **high-risk** workload in pilot or production (the risk tier is recorded in the registry).
Lower tiers follow the same principles wherever outputs reach people outside the team.

## Requirements

1. **Review before effect, on the record.** A trained person reviews each consequential output
   before it takes effect, and the decision is recorded: accepted, corrected or rejected. Each
   month the team has a second person review a random 2 % of accepted outputs and reports the
   override rate to the CoE.
2. **Override and stop.** Reviewers can reject or correct any output. The service owner can switch
   the AI step off without a release and fall back to the manual process.
3. **Competent reviewers.** Reviewers know what the system is for, where it is weak, and the risk
   of automation bias: trusting an answer because it reads fluently.

## What changed in 2.0

Reviews in 1.0 left no trace, so nobody could tell a careful review from a rubber stamp. An
override rate near zero for months is a warning sign; the monthly sample shows whether it is.

## Evidence

Attest each control on the workload's governance page and link the procedure or runbook that
shows it. An attestation of reviewer training holds for a year.

## Why

The EU AI Act (Art. 14, and Art. 26 for deployers) requires high-risk systems to be overseen
effectively by people; ISO/IEC 42001 (A.9.2) and the NIST AI RMF (GOVERN 3.2, MAP 3.5) ask for
defined roles and documented processes for human oversight.
"""

OVERRIDE_AND_STOP = attestation(
    "override-and-stop",
    "Reviewers can override; the owner can switch the AI step off",
    "Reviewers can reject or correct any output. The service owner can switch the AI step off without a "
    "release (a feature flag or configuration switch) and the manual process takes over.",
    "Oversight that cannot stop the system is observation. Switching off must not wait for a deployment.",
    risk=(HIGH,),
)
REVIEWER_TRAINING = attestation(
    "reviewer-training",
    "Reviewers are trained, yearly",
    "Everyone who reviews outputs completed the CoE's oversight training in the last twelve months, covering "
    "the workload's intended use, its known failure modes and automation bias.",
    "Reviewers who do not know where the system fails approve its mistakes.",
    risk=(HIGH,),
    valid_days=365,
)
HUMAN_REVIEW_1 = attestation(
    "human-review",
    "A person reviews consequential outputs",
    "Every output that affects a customer, claimant, applicant or employee is reviewed by a trained person "
    "before it takes effect. The system recommends; the reviewer decides.",
    "High-risk decisions stay with an accountable person (EU AI Act Art. 14).",
    risk=(HIGH,),
)
HUMAN_REVIEW_2 = attestation(
    "human-review",
    "A person reviews consequential outputs, on the record",
    "Every output that affects a customer, claimant, applicant or employee is reviewed by a trained person "
    "before it takes effect, and the reviewer's decision (accepted, corrected, rejected) is recorded. Each "
    "month a second person reviews a random 2 % of accepted outputs; the override rate goes to the CoE.",
    "An unrecorded review cannot be told from a rubber stamp. The override rate and the monthly sample show "
    "whether reviewers still look.",
    risk=(HIGH,),
)

# 2. Data protection -------------------------------------------------------------------------------

DATA_PROTECTION = """# Data protection in prompts and outputs

## Purpose

Prompts, retrieved documents and outputs are personal data processing like any other. This policy
keeps personal data out of models where it is not needed, and out of providers' hands afterwards.

## Scope

Workloads that handle **confidential** or **restricted** data (logging rules: internal data too).

## Requirements

- **Minimise.** Send the model only what the task needs. Mask or pseudonymise direct identifiers
  (names, policy, account and national ID numbers) unless the task cannot be done without them,
  and record why.
- **No retention by providers.** Zero-data-retention is switched on for the workload's API key,
  or the model is self-hosted. Providers never train on our prompts or outputs.
- **Logs.** Prompt and output logs are redacted of personal data before they leave the service,
  readable by the team only, and deleted after 30 days.

## Models and classifications

The model catalogue says which models are cleared for which classification. Restricted data goes
to the self-hosted models only.

## Why

GDPR (Art. 5(1)(c), 25 and 32) requires data minimisation and protection by design; the EU AI Act
(Art. 10) and the NIST AI RMF (MEASURE 2.10) ask for privacy risk to be examined and documented;
ISO/IEC 42001 (A.10.3) covers what suppliers may do with our data.
"""

# 3. Model approval and change management ----------------------------------------------------------

CHANGE_MANAGEMENT = """# Model approval and change management

## Purpose

A model upgrade, a new prompt or a retrieval change can alter behaviour as much as new code. This
policy makes every such change deliberate, evaluated and reversible.

## Scope

Every workload from development onwards.

## Requirements

1. **Approved models only.** Use models the catalogue lists as approved (or approved with
   conditions) for the workload's data classification. Meet every condition and record how.
2. **Evaluate before release.** Every change of model, model snapshot, prompt or retrieval
   settings is evaluated on the workload's golden set before promotion. Link the results from the
   release in the registry.
3. **Rehearse the rollback.** High-risk production workloads can restore the previous release in
   under an hour, and have rehearsed it in the last year.

## How the portal helps

Releases record the models, prompt template versions and configuration of each change; the
release gate refuses models that are not approved for the workload's data.

## Why

ISO/IEC 42001 (A.6.2.4 verification and validation, A.6.2.5 deployment), the NIST AI RMF
(GOVERN 1.6 inventory, MANAGE 2.2) and the EU AI Act's quality management system (Art. 17).
"""

# 4. Resilience -----------------------------------------------------------------------------------

RESILIENCE = """# Resilience of GenAI services

## Purpose

Model providers have outages, rate limits and slow days. Workloads that people depend on must
stay within their objectives and degrade gracefully when a provider does not answer.

## Scope

Workloads in pilot and production. Each registers its own p95 latency objective and maximum
error rate in the registry; the checks below compare telemetry with those figures.

## Requirements

- **Latency.** p95 latency over the last 7 days is within the workload's objective.
- **Errors.** The share of failed calls (timeouts, 5xx, refusals by rate limits) over the last
  7 days is at most the workload's maximum error rate.
- **Fallback.** Production workloads with limited or high risk fail over to a second approved
  model, or hand work to the manual process, when the primary provider is down. The fallback
  was tested in the last year.

## When a check fails

The team and the CoE are told. Fix it, or ask for a time-limited waiver with compensating
controls; a waiver ends by itself.

## Why

The EU AI Act (Art. 15) requires accuracy and robustness throughout the lifecycle;
ISO/IEC 42001 (A.6.2.6) and the NIST AI RMF (MEASURE 2.7) ask for resilience to be evaluated.
"""

# 5. Cost -----------------------------------------------------------------------------------------

COST_CONTROL = """# Cost control and budget guardrails

## Purpose

Token costs grow with use, and one bad loop can spend a month's budget in a night. This policy
keeps every workload inside the budget it registered and worth what it costs.

## Scope

Workloads in pilot and production; the ROI check applies in production.

## Requirements

1. **Within budget.** The cost of the last 30 days (model calls at catalogue prices plus the fixed
   monthly run cost) is at most the workload's monthly budget.
2. **Worth it.** In production, ROI over the last 30 days is at least the workload's target.
3. **Guardrails in place.** Every call sets `max_tokens`. The gateway enforces per-user rate
   limits and a hard monthly spend cap for the workload's key, and alerts the team at 80 % of
   the budget.

## Budgets that need to change

Raise the budget in the registry with the business owner's agreement, or ask for a waiver while
a cheaper design is built. Do not remove the cap.

## Why

The FinOps Framework's budgeting and unit-economics practices, applied to model spend.
"""

# 6. Monitoring -----------------------------------------------------------------------------------

MONITORING_POLICY = """# Monitoring, quality and safety

## Purpose

A GenAI workload that passed its evaluation can still drift: documents change, users ask new
things, providers update models behind the same name. This policy makes sure somebody notices.

## Scope

Workloads in pilot and production. Quality is measured against the workload's own minimum
quality, registered in the registry; drift is watched on high-risk production workloads.

## Requirements

- **Safety.** At most 1 % of responses over the last 7 days are flagged by the safety filters.
- **Quality.** The quality score (the team's golden set or LLM-as-judge rubric) over the last
  7 days is at least the workload's minimum.
- **Drift.** The drift score over the last 30 days stays at or below 0.15.
- **Incidents.** Serious incidents reach the CoE within 24 hours through the incident form.

## Telemetry

Send traces with the OpenTelemetry GenAI conventions; the portal computes the metrics and runs the
checks. A metric that is not measured shows "not yet evaluated", never a pass.

## Why

The EU AI Act (Art. 12 record-keeping, Art. 72 post-market monitoring, Art. 73 serious
incidents), ISO/IEC 42001 (A.6.2.6, A.6.2.8) and the NIST AI RMF (MEASURE 2.4, MANAGE 4.1).
"""

# 7. Transparency ---------------------------------------------------------------------------------

TRANSPARENCY = """# Transparency to users

## Purpose

People have a right to know when they are dealing with AI, and what it did in a decision about
them. This policy says what each workload tells its users.

## Scope

Workloads in pilot and production with limited or high risk, and all workloads that publish
content outside the company.

## Requirements

1. **Disclose.** People who interact with the system directly are told, at the start, that they
   are dealing with AI, and how to reach a person.
2. **Label published content.** Text and images published outside the company that AI generated or
   substantially edited are reviewed by an editor, and labelled where the channel requires it.
3. **Explain on request.** A person affected by a decision the system supported can ask how it
   was used, and gets a plain answer within 30 days.

## Wording

Use the CoE's disclosure snippets in the library; adapt the tone, not the substance.

## Why

The EU AI Act (Art. 50 for interaction and generated content, Art. 13 for information to
deployers, Art. 86 for explanations), ISO/IEC 42001 (A.8.2) and the NIST AI RMF (MEASURE 2.8).
"""

# 8. Security -------------------------------------------------------------------------------------

SECURITY_POLICY = """# Security: prompt injection and abuse

## Purpose

Anything a model reads can try to give it orders: a customer's message, an e-mail attachment, a
web page, a document in the index. This policy limits what a manipulated model can do.

## Scope

Every workload from development onwards; red-teaming applies to limited and high risk.

## Requirements

- **Red-team.** Test for direct and indirect prompt injection at least every six months and before
  major releases. Fix findings, or have the CoE accept them in writing.
- **Least privilege.** Tools, retrieval and API keys have the least privilege the task needs, and
  the end user's own permissions where the system acts for a user. The model never holds
  credentials.
- **Untrusted output.** Treat model output as untrusted input: escape it before rendering; never
  execute it, build queries from it or pass it to another system without validation.

## Help

The library's red-teaming rubric lists the attacks to try. The CoE runs a red-team day each
quarter; book a slot.

## Why

OWASP Top 10 for LLM Applications (LLM01 prompt injection, LLM05 improper output handling, LLM06
excessive agency), the EU AI Act (Art. 15(5)) and the NIST AI RMF (MEASURE 2.7).
"""

POLICIES = [
    DemoPolicy(
        "Human oversight of automated decisions",
        SECURITY,
        "People stay in charge of decisions that affect customers, claimants, applicants and employees: "
        "review before effect, the power to override and stop, and trained reviewers.",
        ("human-oversight", "eu-ai-act", "high-risk"),
        (
            DemoPolicyVersion(
                "1.0.0",
                OVERSIGHT_1,
                refs((EU, "Art. 14"), (ISO, "A.9.2"), (NIST, "GOVERN 3.2"), (NIST, "MAP 3.5")),
                (HUMAN_REVIEW_1, OVERRIDE_AND_STOP, REVIEWER_TRAINING),
                age_days=280,
            ),
            DemoPolicyVersion(
                "2.0.0",
                OVERSIGHT_2,
                refs((EU, "Art. 14"), (EU, "Art. 26"), (ISO, "A.9.2"), (NIST, "GOVERN 3.2"), (NIST, "MAP 3.5")),
                (HUMAN_REVIEW_2, OVERRIDE_AND_STOP, REVIEWER_TRAINING),
                age_days=45,
                changelog="“A person reviews consequential outputs” now requires recording each reviewer decision "
                "and a monthly second review of 2 % of accepted outputs, with the override rate reported to the "
                "CoE: re-attest it within two weeks. The other two controls are unchanged.",
                grace_days=14,
                later=True,
            ),
        ),
    ),
    DemoPolicy(
        "Data protection in prompts and outputs",
        SECURITY,
        "Only the personal data a task needs reaches a model, providers keep nothing, and logs are redacted "
        "and short-lived.",
        ("privacy", "gdpr", "data-protection"),
        (
            DemoPolicyVersion(
                "1.0.0",
                DATA_PROTECTION,
                refs((OTHER, "GDPR Art. 5(1)(c), 25 and 32"), (EU, "Art. 10"), (ISO, "A.10.3"), (NIST, "MEASURE 2.10")),
                (
                    attestation(
                        "data-minimisation",
                        "Prompts carry only the personal data the task needs",
                        "Prompts carry only the personal data the task needs. Direct identifiers (names, policy, "
                        "account and national ID numbers) are masked or pseudonymised before they reach the model, "
                        "unless the task cannot be done without them; the reason is recorded.",
                        "Data a model never sees cannot leak through it, be retained or be reproduced.",
                        data=(CONFIDENTIAL, RESTRICTED),
                        stages=(DEVELOPMENT, PILOT, PRODUCTION),
                        valid_days=365,
                    ),
                    attestation(
                        "provider-no-retention",
                        "Providers neither retain nor train on our data",
                        "The provider neither retains prompts and outputs beyond the request nor uses them for "
                        "training: zero-data-retention is switched on for the workload's key, or the model is "
                        "self-hosted.",
                        "Retained prompts are a second copy of confidential data outside our control.",
                        data=(CONFIDENTIAL, RESTRICTED),
                    ),
                    attestation(
                        "log-redaction",
                        "Logs are redacted, restricted and deleted after 30 days",
                        "Prompt and output logs are redacted of personal data before they leave the service, "
                        "readable by the team only, and deleted after 30 days.",
                        "Logs are where personal data piles up unnoticed.",
                        data=(INTERNAL, CONFIDENTIAL, RESTRICTED),
                    ),
                ),
                age_days=260,
            ),
        ),
    ),
    DemoPolicy(
        "Model approval and change management",
        INFRASTRUCTURE,
        "Approved models only, every change evaluated on a golden set before release, and a rehearsed way back.",
        ("change-management", "models", "evaluation"),
        (
            DemoPolicyVersion(
                "1.0.0",
                CHANGE_MANAGEMENT,
                refs((ISO, "A.6.2.4"), (ISO, "A.6.2.5"), (NIST, "GOVERN 1.6"), (NIST, "MANAGE 2.2"), (EU, "Art. 17")),
                (
                    attestation(
                        "model-conditions-met",
                        "Approved models, and their conditions met",
                        "Every model the workload calls is approved in the catalogue for its data classification; "
                        "where the approval has conditions, the team meets each one and records how.",
                        "Conditions are how the CoE approves a model sooner; they only work if teams meet them.",
                        stages=(DEVELOPMENT, PILOT, PRODUCTION),
                    ),
                    attestation(
                        "evaluation-before-release",
                        "Changes are evaluated on the golden set before release",
                        "Every change of model, model snapshot, prompt or retrieval settings is evaluated on the "
                        "workload's golden set before it is promoted, and the results are linked from the release.",
                        "Model and prompt changes alter behaviour silently; only an evaluation shows how.",
                        risk=(LIMITED, HIGH),
                    ),
                    attestation(
                        "rollback-rehearsed",
                        "Rollback rehearsed in the last year",
                        "The previous release can be restored in under an hour, and the team rehearsed a rollback "
                        "in the last twelve months.",
                        "A rollback that was never tried fails when it is needed.",
                        risk=(HIGH,),
                        stages=(PRODUCTION,),
                        valid_days=365,
                    ),
                ),
                age_days=240,
            ),
        ),
    ),
    DemoPolicy(
        "Resilience of GenAI services",
        INFRASTRUCTURE,
        "Workloads stay within their latency and error objectives and degrade gracefully when a provider fails.",
        ("resilience", "latency", "slo"),
        (
            DemoPolicyVersion(
                "1.0.0",
                RESILIENCE,
                refs((EU, "Art. 15"), (ISO, "A.6.2.6"), (NIST, "MEASURE 2.7")),
                (
                    check(
                        "p95-latency",
                        "p95 latency within the objective",
                        "p95 latency over the last 7 days is at most the workload's p95 latency objective.",
                        "Slow assistants are abandoned, and slow back-office steps back up queues.",
                        metric=Metric.P95_LATENCY_MS,
                        operator="<=",
                        source=ThresholdSource.P95_OBJECTIVE,
                        stages=(PRODUCTION,),
                    ),
                    check(
                        "error-rate",
                        "Error rate within the objective",
                        "The share of failed calls over the last 7 days is at most the workload's maximum error rate.",
                        "Errors are where users meet the manual fallback; too many mean the service is not there.",
                        metric=Metric.ERROR_RATE,
                        operator="<=",
                        source=ThresholdSource.ERROR_OBJECTIVE,
                    ),
                    attestation(
                        "provider-fallback",
                        "A tested fallback when the provider is down",
                        "When the primary model provider is unavailable, the workload fails over to a second "
                        "approved model or hands work to the manual process; the fallback was tested in the last "
                        "twelve months.",
                        "Every provider has had multi-hour outages; the business process must not stop with them.",
                        risk=(LIMITED, HIGH),
                        stages=(PRODUCTION,),
                        valid_days=365,
                    ),
                ),
                age_days=200,
            ),
        ),
    ),
    DemoPolicy(
        "Cost control and budget guardrails",
        COST,
        "Every workload stays within its monthly budget, earns its target ROI, and has hard spending limits.",
        ("cost", "budget", "finops"),
        (
            DemoPolicyVersion(
                "1.0.0",
                COST_CONTROL,
                refs((OTHER, "FinOps Framework: Budgeting"), (OTHER, "FinOps Framework: Unit Economics")),
                (
                    check(
                        "within-budget",
                        "Monthly cost within budget",
                        "The cost of the last 30 days is at most the workload's monthly budget.",
                        "Budgets are agreed with the business owner; overruns are decisions, not surprises.",
                        metric=Metric.MONTHLY_COST,
                        operator="<=",
                        source=ThresholdSource.BUDGET,
                        window_days=30,
                    ),
                    check(
                        "roi-target",
                        "ROI at or above the target",
                        "ROI over the last 30 days is at least the workload's target ROI.",
                        "A production workload that does not pay its way should be redesigned or retired.",
                        metric=Metric.ROI,
                        operator=">=",
                        source=ThresholdSource.TARGET_ROI,
                        window_days=30,
                        stages=(PRODUCTION,),
                    ),
                    attestation(
                        "spend-limits",
                        "Token limits, rate limits and a spend cap",
                        "Every call sets max_tokens; the gateway enforces per-user rate limits and a hard monthly "
                        "spend cap for the workload's key, and alerts the team at 80 % of the budget.",
                        "A retry loop or a scraping user can spend a month's budget overnight.",
                    ),
                ),
                age_days=180,
            ),
        ),
    ),
    DemoPolicy(
        "Monitoring, quality and safety",
        MONITORING,
        "Safety flags, quality and drift are measured continuously against each workload's objectives, and "
        "serious incidents reach the CoE within a day.",
        ("monitoring", "quality", "safety"),
        (
            DemoPolicyVersion(
                "1.0.0",
                MONITORING_POLICY,
                refs(
                    (EU, "Art. 12"),
                    (EU, "Art. 72"),
                    (EU, "Art. 73"),
                    (ISO, "A.6.2.6"),
                    (ISO, "A.6.2.8"),
                    (NIST, "MEASURE 2.4"),
                    (NIST, "MANAGE 4.1"),
                ),
                (
                    check(
                        "safety-flag-rate",
                        "Safety flags at most 1 %",
                        "At most 1 % of responses over the last 7 days are flagged by the safety filters.",
                        "A rising flag rate is the first sign of misuse or of a prompt that invites harm.",
                        metric=Metric.SAFETY_FLAG_RATE,
                        operator="<=",
                        threshold="0.01",
                    ),
                    check(
                        "quality-score",
                        "Quality at or above the workload's minimum",
                        "The quality score over the last 7 days is at least the workload's minimum quality.",
                        "Quality decays quietly as documents, users and provider models change.",
                        metric=Metric.QUALITY_SCORE,
                        operator=">=",
                        source=ThresholdSource.QUALITY_OBJECTIVE,
                    ),
                    check(
                        "drift-score",
                        "Drift at most 0.15",
                        "The drift score of inputs and outputs over the last 30 days is at most 0.15.",
                        "High-risk workloads must notice when today's cases no longer look like the evaluated ones.",
                        metric=Metric.DRIFT_SCORE,
                        operator="<=",
                        threshold="0.15",
                        window_days=30,
                        risk=(HIGH,),
                        stages=(PRODUCTION,),
                    ),
                    attestation(
                        "incident-reporting",
                        "Serious incidents reach the CoE within 24 hours",
                        "The team's runbook names who reports serious incidents (harmful output that reached a "
                        "person, a data leak, a safety-filter bypass) and they reach the CoE within 24 hours "
                        "through the incident form.",
                        "Serious incidents of high-risk systems must be reported to authorities within days.",
                        risk=(LIMITED, HIGH),
                    ),
                ),
                age_days=160,
            ),
        ),
    ),
    DemoPolicy(
        "Transparency to users",
        SECURITY,
        "People know when they deal with AI, published AI content is reviewed and labelled, and affected "
        "people can get an explanation.",
        ("transparency", "eu-ai-act", "disclosure"),
        (
            DemoPolicyVersion(
                "1.0.0",
                TRANSPARENCY,
                refs((EU, "Art. 50"), (EU, "Art. 13"), (EU, "Art. 86"), (ISO, "A.8.2"), (NIST, "MEASURE 2.8")),
                (
                    attestation(
                        "ai-disclosure",
                        "People are told they are dealing with AI",
                        "People who interact with the system directly are told, at the start, that they are dealing "
                        "with AI, and how to reach a person.",
                        "Required for systems that interact with people (EU AI Act Art. 50(1)).",
                        risk=(LIMITED, HIGH),
                    ),
                    attestation(
                        "content-labelled",
                        "Published AI content is reviewed and labelled",
                        "Text and images published outside the company that AI generated or substantially edited "
                        "are reviewed by an editor, and labelled where the channel requires it.",
                        "Our name is on what we publish, whoever drafted it.",
                        data=(PUBLIC,),
                    ),
                    attestation(
                        "explanation-on-request",
                        "Affected people can get an explanation",
                        "A person affected by a decision the system supported can ask how it was used, and gets a "
                        "plain answer within 30 days.",
                        "The right to an explanation of individual decisions (EU AI Act Art. 86).",
                        risk=(HIGH,),
                        stages=(PRODUCTION,),
                    ),
                ),
                age_days=140,
            ),
        ),
    ),
    DemoPolicy(
        "Security: prompt injection and abuse",
        SECURITY,
        "Red-team for prompt injection twice a year, give tools least privilege, and treat model output as "
        "untrusted input.",
        ("security", "prompt-injection", "owasp"),
        (
            DemoPolicyVersion(
                "1.0.0",
                SECURITY_POLICY,
                refs(
                    (OTHER, "OWASP Top 10 for LLM Applications 2025: LLM01, LLM05, LLM06"),
                    (EU, "Art. 15(5)"),
                    (NIST, "MEASURE 2.7"),
                ),
                (
                    attestation(
                        "injection-red-team",
                        "Red-teamed for prompt injection in the last six months",
                        "The workload was tested for direct and indirect prompt injection (instructions hidden in "
                        "messages, documents, e-mails and web pages it reads) in the last six months; findings are "
                        "fixed or accepted by the CoE in writing.",
                        "New injection techniques appear every month; a test from last year says little.",
                        risk=(LIMITED, HIGH),
                        valid_days=180,
                    ),
                    attestation(
                        "least-privilege-tools",
                        "Tools and keys have least privilege",
                        "Tools, retrieval and API keys have the least privilege the task needs, and the end user's "
                        "own permissions where the system acts for a user. The model never holds credentials.",
                        "An injected instruction can do whatever the model's tools can do.",
                        stages=(DEVELOPMENT, PILOT, PRODUCTION),
                    ),
                    attestation(
                        "untrusted-output",
                        "Model output is handled as untrusted input",
                        "Model output is escaped before rendering, and never executed, used to build a query or "
                        "passed to another system without validation.",
                        "Output handling turns a manipulated answer into cross-site scripting or SQL injection.",
                    ),
                ),
                age_days=300,
            ),
        ),
    ),
]


# --- Where the portfolio stands -----------------------------------------------------------------------

# Attestation controls a team has not attested yet (they stay "attestation due").
NOT_ATTESTED = {
    ("Public Website Chatbot", "injection-red-team"),  # red-team day booked for next month
    ("Test Generation Bot", "spend-limits"),
    ("Expense Policy Q&A", "log-redaction"),
    ("Medical Report Extraction", "reviewer-training"),
    ("HR Policy Assistant", "incident-reporting"),
}

# Attested long ago, so the attestation has expired (the control holds for 180 days).
EXPIRED = {("Code Review Assistant", "injection-red-team"): 205}

# High-risk workloads that re-attested human review after v2 of the oversight policy; the others
# (Medical Report Extraction, Contract Clause Extraction, NDA First-Pass Review) are due.
REATTESTED = ("Claims Triage Assistant", "Fraud Case Narratives", "Credit Memo Drafting")

ANSWERS = {
    "human-review": "Every output of {name} lands in a review queue; a trained reviewer accepts, corrects or rejects "
    "it before it takes effect. The system has no path to act on its own.",
    "override-and-stop": "Reviewers can edit or discard any suggestion. The feature flag `ai_step_enabled` switches "
    "{name} off in under a minute; the queue then falls back to manual handling (tested at go-live).",
    "reviewer-training": "All reviewers of {name} completed the CoE oversight course; the team lead keeps the list "
    "and new joiners take it before their first shift.",
    "data-minimisation": "{name} pseudonymises names and reference numbers before the model call and restores them "
    "afterwards; only fields the task needs are sent.",
    "provider-no-retention": "Zero-data-retention is switched on for the key of {name}; the provider's DPA excludes "
    "training on our data.",
    "log-redaction": "Logs of {name} go through the redaction filter in the gateway, sit in the team's own log "
    "index and expire after 30 days.",
    "model-conditions-met": "Every model of {name} is approved for its data; conditions (EU endpoint, "
    "zero retention) are recorded in the runbook.",
    "evaluation-before-release": "Each release of {name} runs the golden set in CI; the evaluation report is linked "
    "from the release's changelog.",
    "rollback-rehearsed": "Rollback of {name} rehearsed in the last game day: previous release restored in 12 minutes.",
    "provider-fallback": "{name} fails over to its second approved model after three consecutive timeouts; tested "
    "during the last provider incident drill.",
    "spend-limits": "max_tokens is set per call; the gateway caps {name} at its monthly budget and alerts the team "
    "channel at 80 %.",
    "incident-reporting": "The runbook of {name} names the on-call lead as reporter; the incident form is linked "
    "from the team's alert channel.",
    "ai-disclosure": "Users of {name} see an “AI-generated suggestion” label and a link to reach a person.",
    "content-labelled": "An editor approves everything {name} drafts before it is published; the channel's "
    "AI label is applied where required.",
    "explanation-on-request": "Requests for an explanation about {name} go to the business owner's team; "
    "a template answer describes the system's role, reviewed by Legal.",
    "injection-red-team": "{name} was red-teamed with the library's rubric (direct and indirect injection); "
    "two findings fixed, none open.",
    "least-privilege-tools": "{name} reads with the user's own permissions through delegated tokens; its service "
    "account can read, not write, and the model holds no credentials.",
    "untrusted-output": "Output of {name} is rendered as escaped text and parsed against a schema before any "
    "downstream use; nothing is executed.",
}
ANSWER_V2 = (
    "Reviewer decisions on {name} are recorded with each case (accept / correct / reject). The team lead "
    "second-reviews a random 2 % of accepted outputs each month; last month's override rate was {rate} %."
)
OVERRIDE_RATES = {"Claims Triage Assistant": "6.2", "Fraud Case Narratives": "9.8", "Credit Memo Drafting": "14.5"}

# Metrics telemetry would hand to check_record for each production workload; a metric left out is
# not measured yet ("not yet evaluated").
METRICS: dict[str, dict[str, str]] = {
    "Claims Triage Assistant": {
        "safety_flag_rate": "0.002", "error_rate": "0.008", "p95_latency_ms": "3100", "quality_score": "0.89",
        "monthly_cost": "3820", "roi": "3.4", "drift_score": "0.06",
    },
    "Claims Letter Summariser": {
        "safety_flag_rate": "0.001", "error_rate": "0.006", "p95_latency_ms": "2200", "quality_score": "0.86",
        "monthly_cost": "610", "roi": "4.1",
    },
    # Streaming suggestions (1.2.0) made the tail slower than the 2.5 s objective.
    "Contact Centre Agent Assist": {
        "safety_flag_rate": "0.004", "error_rate": "0.007", "p95_latency_ms": "2740", "quality_score": "0.84",
        "monthly_cost": "8150", "roi": "2.3",
    },
    "Customer Email Reply Drafts": {
        "safety_flag_rate": "0.003", "error_rate": "0.011", "p95_latency_ms": "4300", "quality_score": "0.86",
        "monthly_cost": "1480", "roi": "3.6",
    },
    "Code Review Assistant": {
        "safety_flag_rate": "0.0005", "error_rate": "0.015", "p95_latency_ms": "21000", "quality_score": "0.78",
        "monthly_cost": "5200", "roi": "4.8",
    },
    # ROI is not tracked yet: nobody has agreed what a good search answer is worth.
    "Developer Portal Search": {
        "safety_flag_rate": "0", "error_rate": "0.004", "p95_latency_ms": "1400", "quality_score": "0.83",
        "monthly_cost": "240",
    },
    "Fraud Case Narratives": {
        "safety_flag_rate": "0.002", "error_rate": "0.005", "p95_latency_ms": "11200", "quality_score": "0.88",
        "monthly_cost": "2350", "roi": "3.9", "drift_score": "0.09",
    },
    # No golden set yet for campaign copy, so no quality score.
    "Campaign Copy Generator": {
        "safety_flag_rate": "0.006", "error_rate": "0.012", "p95_latency_ms": "4300", "monthly_cost": "780",
        "roi": "7.2",
    },
    "Product Description Localisation": {
        "safety_flag_rate": "0.001", "error_rate": "0.009", "p95_latency_ms": "5200", "quality_score": "0.90",
        "monthly_cost": "690", "roi": "5.5",
    },
    # Customer contracts (since 1.2.0) pulled the indemnity-clause score below 0.90.
    "Contract Clause Extraction": {
        "safety_flag_rate": "0.001", "error_rate": "0.006", "p95_latency_ms": "18500", "quality_score": "0.87",
        "monthly_cost": "4100", "roi": "3.3", "drift_score": "0.12",
    },
    # Scanned German and French invoices keep quality under the 0.95 minimum.
    "Invoice Data Capture": {
        "safety_flag_rate": "0", "error_rate": "0.008", "p95_latency_ms": "7400", "quality_score": "0.93",
        "monthly_cost": "1950", "roi": "2.9",
    },
    "HR Policy Assistant": {
        "safety_flag_rate": "0.004", "error_rate": "0.009", "p95_latency_ms": "2900", "quality_score": "0.87",
        "monthly_cost": "520", "roi": "3.8",
    },
    # gpt-4o answers since 2.0.0 took the cost over budget (waived while 2.1.0 is prepared).
    "Enterprise Search Answers": {
        "safety_flag_rate": "0.002", "error_rate": "0.013", "p95_latency_ms": "4100", "quality_score": "0.84",
        "monthly_cost": "8460", "roi": "2.2",
    },
}  # fmt: skip


@dataclass(frozen=True)
class DemoWaiver:
    workload: str
    policy: str  # slug
    control_key: str
    justification: str
    compensating_controls: str
    requested_days_ago: int
    ends_in_days: int  # negative: ended that many days ago (approved, then ran out)
    decision: str = ""  # "", "approve"
    comment: str = ""


WAIVERS = [
    DemoWaiver(
        "Enterprise Search Answers",
        "cost-control-and-budget-guardrails",
        "within-budget",
        "Release 2.0.0 moved answers to gpt-4o, which took monthly cost to about $8,500 against a $7,500 budget. "
        "Release 2.1.0 (hybrid retrieval, smaller context) is in testing and should bring it back under budget.",
        "Hard spend cap raised to $9,000 only for the waiver's duration; weekly cost review with the business "
        "owner; gpt-4o-mini fallback for low-value queries.",
        requested_days_ago=21,
        ends_in_days=40,
        decision="approve",
        comment="Approved until 2.1.0 is live. Send the cost figures of the first week after release.",
    ),
    DemoWaiver(
        "Invoice Data Capture",
        "monitoring-quality-and-safety",
        "quality-score",
        "Quality fell to 0.93 on scanned German and French invoices after the OCR upgrade. A fix to the "
        "extraction prompt is planned for the next release.",
        "Every scanned invoice in German or French goes to an accounts-payable clerk for a second check.",
        requested_days_ago=44,
        ends_in_days=-12,
        decision="approve",
        comment="Approved for one month with the second check in place.",
    ),
    DemoWaiver(
        "Contract Clause Extraction",
        "monitoring-quality-and-safety",
        "quality-score",
        "Since customer contracts were added (1.2.0), indemnity clauses score 0.87 against the 0.90 minimum. "
        "Release 1.3.0 trials Claude Opus 4 for indemnity clauses and is waiting for the CoE's model review.",
        "Lawyers check every extracted indemnity clause against the contract before it enters the register.",
        requested_days_ago=2,
        ends_in_days=90,
    ),
]

# High-risk draft releases the CoE has approved (Contract Clause Extraction 1.3.0 is still waiting).
APPROVALS = [
    (
        "Claims Triage Assistant",
        "1.3.1",
        "Reranking on gpt-4o-mini only below a retrieval score of 0.6 fixes the latency regression of 1.3.0; "
        "golden-set results unchanged. Approved.",
    ),
]


# --- Seeding --------------------------------------------------------------------------------------


def _coe() -> User:
    user = User.objects.filter(username=COE_USERNAME).first()
    if user is None:
        raise RuntimeError("Demo user 'coe' missing (apps.accounts.demo seeds it).")
    return user


def _backdate_version(version: PolicyVersion, spec: DemoPolicyVersion) -> None:
    """No service sets past dates, so a new version's history is a plain ORM update of the
    timestamps it just got (as the library's demo does); the audit trail keeps the real ones."""
    written = timezone.now() - timedelta(days=spec.age_days)
    PolicyVersion.objects.filter(pk=version.pk).update(
        created_at=written, updated_at=written, published_at=written + timedelta(days=2)
    )


def _seed_version(policy: Policy, spec: DemoPolicyVersion, actor: User) -> PolicyVersion:
    version = policy.versions.filter(number=spec.number).first()
    new = version is None
    if version is None:
        previous = policy.versions.filter(is_current=True).first()
        published = timezone.now() - timedelta(days=spec.age_days - 2)
        version = services.policy_version_create(
            actor=actor, policy=policy, number=spec.number, body=spec.body, changelog=spec.changelog,
            effective_date=(published + timedelta(days=spec.grace_days)).date(),
            framework_refs=[{"framework": f, "reference": r} for f, r in spec.refs], copy_controls_from=previous,
        )  # fmt: skip
    if version.is_editable:
        for control_spec in spec.controls:
            fields = control_spec.fields()
            control = version.controls.filter(key=control_spec.key).first()
            if control is None:
                services.control_add(actor=actor, version=version, **fields)
                continue
            # Carried over from the previous version: change what this version changes.
            changed = {k: v for k, v in fields.items() if k != "key" and getattr(control, k) != v}
            if changed:
                services.control_update(actor=actor, control=control, **changed)
        version = services.policy_version_publish(actor=actor, version=version)
    if new:
        _backdate_version(version, spec)
    return version


def _seed_policies(actor: User, *, later: bool) -> None:
    for spec in POLICIES:
        policy = Policy.objects.filter(slug=spec.slug).first()
        if policy is None:
            policy = services.policy_create(
                actor=actor, title=spec.title, category=spec.category, summary=spec.summary, tags=spec.tags
            )
            first = timezone.now() - timedelta(days=spec.versions[0].age_days)
            Policy.objects.filter(pk=policy.pk).update(created_at=first)
        for version_spec in spec.versions:
            if version_spec.later == later:
                _seed_version(policy, version_spec, actor)


def _owner(workload: Workload) -> User | None:
    membership = (
        Membership.objects.filter(team=workload.team_id, role=Membership.Role.OWNER)
        .select_related("user")
        .order_by("user__username")
        .first()
    )
    return membership.user if membership else None


def _live_workloads() -> list[Workload]:
    return list(Workload.objects.filter(lifecycle_stage__in=LIVE).select_related("team").order_by("name"))


def _attest(workload: Workload, control: Control, answer: str, days_ago: int) -> None:
    """Attest as the team's owner, then date the attestation to when the team gave it (services
    stamp "now"): after the workload was registered and the control's version was published."""
    made = services.attest(
        actor=_owner(workload), workload=workload, control=control, answer=answer.format(name=workload.name),
        evidence_url=f"https://wiki.example.org/governance/{workload.slug}/{control.key}",
    )  # fmt: skip
    earliest = max(workload.created_at, control.policy_version.published_at) + timedelta(days=1)
    at = max(timezone.now() - timedelta(days=days_ago), earliest)
    days = control.attestation_valid_days
    Attestation.objects.filter(pk=made.pk).update(
        attested_at=at, expires_at=at + timedelta(days=days) if days else None
    )


def _seed_first_attestations() -> None:
    """Owners attest the first version of each policy for their pilot and production workloads,
    a month or more before v2 of the oversight policy came out."""
    controls = [
        control
        for spec in POLICIES
        for control in Control.objects.filter(
            policy_version__policy__slug=spec.slug,
            policy_version__number=spec.versions[0].number,
            policy_version__is_current=True,  # once replaced, the version takes no new attestations
            kind=ATTESTATION,
        ).select_related("policy_version__policy")
    ]
    for i, workload in enumerate(_live_workloads()):
        for j, control in enumerate(controls):
            if (
                (workload.name, control.key) in NOT_ATTESTED
                or not control.applies_to(workload)
                or Attestation.objects.filter(workload=workload, control=control).exists()
            ):
                continue
            days_ago = EXPIRED.get((workload.name, control.key), 50 + (i * 7 + j * 3) % 36)
            _attest(workload, control, ANSWERS[control.key], days_ago)


def _seed_reattestations() -> None:
    control = Control.objects.select_related("policy_version__policy").get(
        policy_version__policy__slug=POLICIES[0].slug, policy_version__is_current=True, key="human-review"
    )
    for i, name in enumerate(REATTESTED):
        workload = Workload.objects.select_related("team").get(slug=slugify(name))
        if Attestation.objects.filter(workload=workload, control=control).exists():
            continue
        _attest(workload, control, ANSWER_V2.replace("{rate}", OVERRIDE_RATES[name]), 30 - i * 3)


def _seed_checks() -> None:
    for name, metrics in METRICS.items():
        workload = Workload.objects.select_related("team").filter(slug=slugify(name)).first()
        if workload is None or CheckResult.objects.filter(workload=workload).exists():
            continue
        services.check_record(workload=workload, metrics=metrics)


def _seed_waivers(coe: User) -> None:
    now, today = timezone.now(), timezone.localdate()
    for spec in WAIVERS:
        workload = Workload.objects.select_related("team").get(slug=slugify(spec.workload))
        if Waiver.objects.filter(workload=workload, policy__slug=spec.policy, control_key=spec.control_key).exists():
            continue
        control = services.current_controls().get(policy_version__policy__slug=spec.policy, key=spec.control_key)
        expired = spec.ends_in_days <= 0
        # The services only take a future end date: an expired waiver is requested for a month.
        waiver = services.waiver_request(
            actor=_owner(workload), workload=workload, control=control, justification=spec.justification,
            compensating_controls=spec.compensating_controls,
            ends_on=today + timedelta(days=30 if expired else spec.ends_in_days),
        )  # fmt: skip
        if spec.decision:
            waiver = services.waiver_decide(actor=coe, waiver=waiver, approve=spec.decision == "approve",
                                            comment=spec.comment)  # fmt: skip
        requested = now - timedelta(days=spec.requested_days_ago)
        dates: dict[str, Any] = {"requested_at": requested}
        if waiver.decided_at:
            dates["decided_at"] = requested + timedelta(days=2)
        if expired:
            # No service lets a waiver end in the past (it would be pointless to ask for one), yet
            # the demo needs one that ran out, to show the control's real state coming back.
            dates["ends_on"] = today + timedelta(days=spec.ends_in_days)
        Waiver.objects.filter(pk=waiver.pk).update(**dates)


def _seed_approvals(coe: User) -> None:
    for name, number, comment in APPROVALS:
        release = Release.objects.filter(workload__slug=slugify(name), version=number).first()
        if (
            release is None
            or release.status != Release.Status.DRAFT
            or ReleaseApproval.objects.filter(release=release).exists()
        ):
            continue
        services.release_approve(actor=coe, release=release, comment=comment)


def seed() -> list[tuple[str, str, str]]:
    coe = _coe()
    last_notification = Notification.objects.aggregate(last=Max("pk"))["last"] or 0
    _seed_policies(coe, later=False)
    _seed_first_attestations()
    _seed_policies(coe, later=True)  # oversight v2: the human-review attestations above fall due
    _seed_reattestations()
    _seed_checks()
    _seed_waivers(coe)
    _seed_approvals(coe)
    # Loading this history through the services sends what it sent at the time: a notice per
    # policy version per workload, failing checks, waiver decisions (hundreds in all). Replayed
    # today they would bury the demo inboxes, so they are dropped; the library's handful stays.
    Notification.objects.filter(pk__gt=last_notification).delete()
    return []
