"""Demo data of the registry for ``make run``: a model catalogue, workloads and their release histories.

Everything is written through ``apps.registry.services`` with ``actor=None`` ("system"), so the
audit trail, the release timelines and the guards are the real ones. Adoptions of library
templates go through ``apps.registry.adoption`` as the team's owner; some releases are built on
published prompt template versions from ``apps.library.demo``, which runs before this one.

``seed()`` is idempotent: models are keyed on (provider, model_id), prices on (model,
effective_from), workloads on their slug, releases on (workload, version) and adoptions on
(workload, template); what exists is skipped.

The teams come from ``apps.accounts.demo``, which runs first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.models import Membership, Team
from apps.library import demo as library_demo
from apps.library.models import TemplateVersion

from . import adoption, gates, services
from .models import Adoption, AIModel, ExchangeRate, Release, ReleaseEvent, Workload

PRICE_NOTE = "List price, example only — check the provider"
PRICE_DISCLAIMER = (
    "\n\nPrices in this demo catalogue are list prices shown as examples only — check the provider's "
    "current price list before relying on them."
)

PUBLIC, INTERNAL, CONFIDENTIAL, RESTRICTED = "public", "internal", "confidential", "restricted"
APPROVED = AIModel.ApprovalStatus.APPROVED
CONDITIONAL = AIModel.ApprovalStatus.CONDITIONAL
UNDER_REVIEW = AIModel.ApprovalStatus.UNDER_REVIEW
PROHIBITED = AIModel.ApprovalStatus.PROHIBITED
TEXT, MULTIMODAL, EMBEDDING = AIModel.Modality.TEXT, AIModel.Modality.MULTIMODAL, AIModel.Modality.EMBEDDING


def _day(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


# --- Model catalogue ------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoModel:
    key: str
    provider: str  # as telemetry names it (OpenTelemetry gen_ai.provider.name)
    model_id: str
    display_name: str
    description: str
    modality: str
    context_window: int
    approval_status: str
    max_data_classification: str
    conditions: str = ""
    aliases: tuple[str, ...] = ()
    match_pattern: str = ""
    # (effective from, input per million, output per million), oldest first, USD
    prices: tuple[tuple[datetime, str, str], ...] = ()
    # Entered as "under review" first, then cleared with model_update: a real catalogue history.
    reviewed: bool = False


MODELS = [
    DemoModel(
        "gpt-4o",
        "openai",
        "gpt-4o",
        "GPT-4o",
        "OpenAI's general-purpose multimodal model. Default choice for document understanding and "
        "complex drafting where gpt-4o-mini is not good enough.",
        MULTIMODAL,
        128_000,
        APPROVED,
        CONFIDENTIAL,
        aliases=("gpt-4o-2024-05-13", "gpt-4o-2024-08-06", "gpt-4o-2024-11-20"),
        match_pattern=r"^gpt-4o(-\d{4}-\d{2}-\d{2})?$",
        prices=((_day(2024, 5, 13), "5.00", "15.00"), (_day(2024, 10, 2), "2.50", "10.00")),
    ),
    DemoModel(
        "gpt-4o-mini",
        "openai",
        "gpt-4o-mini",
        "GPT-4o mini",
        "Small, fast and cheap. The CoE's recommended starting point for summarisation, classification and drafting.",
        MULTIMODAL,
        128_000,
        APPROVED,
        CONFIDENTIAL,
        aliases=("gpt-4o-mini-2024-07-18",),
        match_pattern=r"^gpt-4o-mini(-\d{4}-\d{2}-\d{2})?$",
        prices=((_day(2024, 7, 18), "0.15", "0.60"),),
    ),
    DemoModel(
        "gpt-4.1",
        "openai",
        "gpt-4.1",
        "GPT-4.1",
        "Long-context model (about a million tokens) with strong instruction following; good for code.",
        TEXT,
        1_047_576,
        CONDITIONAL,
        INTERNAL,
        conditions="Only through the EU Azure OpenAI deployment with abuse-monitoring logging opted out. "
        "No customer personal data until the data protection impact assessment is signed off.",
        aliases=("gpt-4.1-2025-04-14",),
        match_pattern=r"^gpt-4\.1(-\d{4}-\d{2}-\d{2})?$",
        prices=((_day(2025, 4, 14), "2.00", "8.00"),),
        reviewed=True,
    ),
    DemoModel(
        "o3-mini",
        "openai",
        "o3-mini",
        "o3-mini",
        "Small reasoning model. Under evaluation by the CoE for multi-step analysis; latency and cost "
        "vary with the reasoning effort.",
        TEXT,
        200_000,
        UNDER_REVIEW,
        INTERNAL,
        aliases=("o3-mini-2025-01-31",),
        match_pattern=r"^o3-mini(-\d{4}-\d{2}-\d{2})?$",
        prices=((_day(2025, 1, 31), "1.10", "4.40"),),
    ),
    DemoModel(
        "text-embedding-3-small",
        "openai",
        "text-embedding-3-small",
        "text-embedding-3-small",
        "Embedding model for retrieval (1,536 dimensions). Output tokens are not billed.",
        EMBEDDING,
        8_191,
        APPROVED,
        CONFIDENTIAL,
        prices=((_day(2024, 1, 25), "0.02", "0.00"),),
    ),
    DemoModel(
        "claude-sonnet-4",
        "anthropic",
        "claude-sonnet-4",
        "Claude Sonnet 4",
        "Anthropic's mid-size model: strong at long documents, code review and careful drafting.",
        MULTIMODAL,
        200_000,
        APPROVED,
        CONFIDENTIAL,
        aliases=("claude-sonnet-4-20250514", "claude-sonnet-4-0"),
        match_pattern=r"^claude-sonnet-4(-\d{8}|-0)?$",
        prices=((_day(2025, 5, 22), "3.00", "15.00"),),
        reviewed=True,
    ),
    DemoModel(
        "claude-3-5-haiku",
        "anthropic",
        "claude-3-5-haiku",
        "Claude 3.5 Haiku",
        "Anthropic's fast, low-cost model for high-volume question answering and summaries.",
        TEXT,
        200_000,
        APPROVED,
        INTERNAL,
        aliases=("claude-3-5-haiku-20241022", "claude-3-5-haiku-latest"),
        match_pattern=r"^claude-3-5-haiku(-\d{8}|-latest)?$",
        prices=((_day(2024, 11, 4), "1.00", "5.00"), (_day(2024, 12, 12), "0.80", "4.00")),
    ),
    DemoModel(
        "claude-opus-4",
        "anthropic",
        "claude-opus-4",
        "Claude Opus 4",
        "Anthropic's largest model. Under review: the CoE is checking whether its quality justifies "
        "five times the price of Sonnet.",
        MULTIMODAL,
        200_000,
        UNDER_REVIEW,
        CONFIDENTIAL,
        aliases=("claude-opus-4-20250514", "claude-opus-4-0"),
        match_pattern=r"^claude-opus-4(-\d{8}|-0)?$",
        prices=((_day(2025, 5, 22), "15.00", "75.00"),),
    ),
    DemoModel(
        "gemini-2.0-flash",
        "gcp.vertex_ai",
        "gemini-2.0-flash",
        "Gemini 2.0 Flash",
        "Google's fast multimodal model on Vertex AI, with a one-million-token context window.",
        MULTIMODAL,
        1_048_576,
        CONDITIONAL,
        PUBLIC,
        conditions="Public data only until the Vertex AI EU data-residency review is complete. "
        "Grounding with Google Search stays switched off.",
        aliases=("gemini-2.0-flash-001",),
        match_pattern=r"^gemini-2\.0-flash(-\d{3})?$",
        prices=((_day(2025, 2, 5), "0.10", "0.40"),),
        reviewed=True,
    ),
    DemoModel(
        "gemini-1.5-pro",
        "gcp.vertex_ai",
        "gemini-1.5-pro",
        "Gemini 1.5 Pro",
        "Google's previous-generation large model on Vertex AI. Still approved for existing workloads; "
        "new ones should start on Gemini 2.0 Flash.",
        MULTIMODAL,
        2_097_152,
        APPROVED,
        INTERNAL,
        aliases=("gemini-1.5-pro-001", "gemini-1.5-pro-002"),
        match_pattern=r"^gemini-1\.5-pro(-\d{3})?$",
        prices=((_day(2024, 5, 14), "3.50", "10.50"), (_day(2024, 10, 1), "1.25", "5.00")),
    ),
    DemoModel(
        "llama-3.1-70b-instruct",
        "vllm",
        "llama-3.1-70b-instruct",
        "Llama 3.1 70B Instruct (self-hosted)",
        "Meta's open-weight model served by the CoE's vLLM cluster in our own data centre: the only "
        "chat model cleared for restricted data. The price is a hosted-equivalent reference for "
        "comparison; the real cost is the cluster's fixed monthly run cost.",
        TEXT,
        128_000,
        APPROVED,
        RESTRICTED,
        aliases=("meta-llama/Llama-3.1-70B-Instruct", "meta-llama/Meta-Llama-3.1-70B-Instruct"),
        match_pattern=r"^(meta-llama/)?(Meta-)?Llama-3\.1-70B-Instruct$",
        prices=((_day(2024, 7, 23), "0.88", "0.88"),),
    ),
    DemoModel(
        "bge-m3",
        "vllm",
        "bge-m3",
        "BGE-M3 embeddings (self-hosted)",
        "Multilingual open-weight embedding model on the CoE's cluster, for retrieval over restricted "
        "documents. The price is a hosted-equivalent reference.",
        EMBEDDING,
        8_192,
        APPROVED,
        RESTRICTED,
        aliases=("BAAI/bge-m3",),
        prices=((_day(2024, 9, 1), "0.01", "0.00"),),
    ),
    DemoModel(
        "mistral-large",
        "mistral_ai",
        "mistral-large-latest",
        "Mistral Large",
        "Mistral AI's flagship model, hosted in the EU; strong in French, German, Spanish and Italian.",
        TEXT,
        131_072,
        CONDITIONAL,
        CONFIDENTIAL,
        conditions="EU-hosted La Plateforme endpoint only, under the signed data processing agreement. "
        "Confidential data needs the zero-retention option switched on for the workload's API key.",
        aliases=("mistral-large-2407", "mistral-large-2411"),
        match_pattern=r"^mistral-large-(latest|\d{4})$",
        prices=((_day(2024, 7, 24), "3.00", "9.00"), (_day(2024, 9, 17), "2.00", "6.00")),
        reviewed=True,
    ),
    DemoModel(
        "deepseek-chat",
        "deepseek",
        "deepseek-chat",
        "DeepSeek-V3 (public API)",
        "Prohibited: the public API is hosted outside the approved jurisdictions, there is no data "
        "processing agreement, and prompts may be retained. Teams that want the open weights can ask "
        "the CoE to evaluate them on the self-hosted cluster.",
        TEXT,
        64_000,
        PROHIBITED,
        PUBLIC,
        aliases=("deepseek-v3",),
        prices=((_day(2024, 12, 26), "0.27", "1.10"),),
    ),
]


def _seed_models() -> dict[str, AIModel]:
    found: dict[str, AIModel] = {}
    for spec in MODELS:
        model = AIModel.objects.filter(provider=spec.provider, model_id=spec.model_id).first()
        if model is None:
            final = {"approval_status": spec.approval_status, "conditions": spec.conditions}
            model = services.model_create(
                actor=None,
                provider=spec.provider,
                model_id=spec.model_id,
                display_name=spec.display_name,
                description=spec.description + PRICE_DISCLAIMER,
                aliases=list(spec.aliases),
                match_pattern=spec.match_pattern,
                modality=spec.modality,
                context_window=spec.context_window,
                max_data_classification=spec.max_data_classification,
                **({"approval_status": UNDER_REVIEW} if spec.reviewed else final),
            )
            if spec.reviewed:
                model = services.model_update(actor=None, model=model, **final)
        for effective_from, input_price, output_price in spec.prices:
            if not model.prices.filter(effective_from=effective_from).exists():
                services.model_price_add(
                    actor=None,
                    model=model,
                    effective_from=effective_from,
                    input_per_million=Decimal(input_price),
                    output_per_million=Decimal(output_price),
                    currency="USD",
                    note=PRICE_NOTE,
                )
        found[spec.key] = model
    return found


# --- Workloads --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoRelease:
    version: str
    changelog: str
    config: dict[str, Any]
    models: tuple[str, ...] = ()  # default: the workload's usable models
    promote: bool = True
    # After this release went live: roll back to this version, for this reason.
    rollback_to: str = ""
    reason: str = ""
    # Library template versions the release is built on, as "slug@number" (published by
    # apps.library.demo, which runs first). Releases are immutable, so they are named at creation.
    templates: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoWorkload:
    team: str
    name: str
    stage: str
    risk: str
    data: str
    category: str
    models: tuple[str, ...]
    owner: str
    description: str
    tags: tuple[str, ...]
    value: dict[str, Any]
    objectives: dict[str, Any] = field(default_factory=dict)
    releases: tuple[DemoRelease, ...] = ()
    age_days: int = 30  # how long ago it was registered
    retired_from: str = "production"
    retire_reason: str = ""


def value(
    currency: str,
    *,
    per_request: str | None = None,
    minutes: str | None = None,
    rate: str | None = None,
    fixed: str = "0",
    run: str = "0",
    budget: str | None = None,
    roi: str | None = None,
) -> dict[str, Any]:
    def dec(v: str | None) -> Decimal | None:
        return None if v is None else Decimal(v)

    return {
        "currency": currency,
        "value_per_request": dec(per_request),
        "minutes_saved_per_request": dec(minutes),
        "loaded_hourly_rate": dec(rate),
        "fixed_monthly_value": Decimal(fixed),
        "fixed_monthly_run_cost": Decimal(run),
        "monthly_budget": dec(budget),
        "target_roi": dec(roi),
    }


def objectives(p95_ms: int, quality: str | None = None, errors: str | None = None) -> dict[str, Any]:
    return {
        "objective_p95_latency_ms": p95_ms,
        "objective_min_quality": None if quality is None else Decimal(quality),
        "objective_max_error_rate": None if errors is None else Decimal(errors),
    }


def cfg(temperature: float, max_tokens: int, top_k: int | None = None, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens}
    if top_k is not None:
        config["retrieval"] = {"top_k": top_k}
    config.update(extra)
    return config


R = DemoRelease

WORKLOADS = [
    # --- Claims Automation ---
    DemoWorkload(
        "Claims Automation",
        "Claims Triage Assistant",
        "production",
        "high",
        CONFIDENTIAL,
        "document_processing",
        ("gpt-4o", "gpt-4o-mini", "text-embedding-3-small"),
        "Margaret Osei",
        "Reads each new motor and household claim, sorts it into one of **14 handling queues** and drafts "
        "a triage note that cites the policy clauses it relied on. A claims handler confirms or corrects "
        "the queue before anything reaches the customer.",
        ("claims", "triage", "rag"),
        value("EUR", minutes="6", rate="52", run="1800", budget="4500", roi="2.5"),
        objectives(4000, "0.85", "0.02"),
        (
            R(
                "1.0.0",
                "First production release: queue classification and a triage note.",
                cfg(0.2, 800, 5),
                ("gpt-4o", "text-embedding-3-small"),
            ),
            R(
                "1.1.0",
                "Adds the fraud red-flag checklist to the triage note; the prompt now asks for a clause "
                "reference for every statement.",
                cfg(0.2, 900, 5),
                ("gpt-4o", "text-embedding-3-small"),
            ),
            R(
                "1.2.0",
                "Retrieval moves to the new policy-wording index; `top_k` 5 → 6.",
                cfg(0.2, 900, 6),
                ("gpt-4o", "text-embedding-3-small"),
            ),
            R(
                "1.3.0",
                "Adds a second gpt-4o pass that reranks the retrieved clauses; `top_k` 6 → 12.",
                cfg(0.2, 900, 12, rerank=True),
                ("gpt-4o", "text-embedding-3-small"),
                rollback_to="1.2.0",
                reason="p95 latency doubled after 1.3.0 (4.1 s → 8.6 s) because of the extra reranking pass; "
                "back to 1.2.0 while the reranker is tuned.",
            ),
            R(
                "1.3.1",
                "Reranking on gpt-4o-mini, and only when the best retrieval score is below 0.6; `top_k` 8.",
                cfg(0.2, 900, 8, rerank={"model": "gpt-4o-mini", "below_score": 0.6}),
                promote=False,
            ),
        ),
        age_days=430,
    ),
    DemoWorkload(
        "Claims Automation",
        "Claims Letter Summariser",
        "production",
        "limited",
        CONFIDENTIAL,
        "document_processing",
        ("gpt-4o-mini",),
        "Margaret Osei",
        "Summarises long correspondence on a claim (letters, repairer quotes, loss adjuster reports) "
        "into a half-page brief at the top of the claim file.",
        ("claims", "summarisation"),
        value("EUR", minutes="4", rate="52", run="300", budget="900", roi="3"),
        objectives(3000, "0.80", "0.02"),
        (
            R(
                "1.0.0",
                "Summaries in English for the claim file.",
                cfg(0.1, 600),
                templates=("claims-summarisation-prompt@1.0.0",),
            ),
            R(
                "1.1.0",
                "Summaries in the customer's language (German, French, Dutch) as well as English.",
                cfg(0.1, 700, languages=["en", "de", "fr", "nl"]),
                templates=("claims-summarisation-prompt@1.1.0",),
            ),
        ),
        age_days=310,
    ),
    DemoWorkload(
        "Claims Automation",
        "Medical Report Extraction",
        "pilot",
        "high",
        RESTRICTED,
        "document_processing",
        ("llama-3.1-70b-instruct",),
        "Dr Ana Ribeiro",
        "Pulls diagnoses, treatment dates and work-incapacity periods out of medical reports attached to "
        "injury claims. Health data is **restricted**, so it runs only on the self-hosted cluster.",
        ("claims", "extraction", "self-hosted", "health-data"),
        value("EUR", per_request="3.50", run="6200", budget="7000", roi="1.2"),
        objectives(12000, "0.90", "0.01"),
        (
            R("1.0.0", "Pilot with the bodily-injury team: ten fields per report.", cfg(0.0, 1200)),
            R("1.1.0", "Adds ICD-10 code suggestions; dates normalised to ISO 8601.", cfg(0.0, 1400)),
            R(
                "1.2.0",
                "Structured output through guided JSON decoding instead of parsing free text.",
                cfg(0.0, 1400, guided_json=True),
                promote=False,
            ),
        ),
        age_days=160,
    ),
    DemoWorkload(
        "Claims Automation",
        "Claims Photo Damage Estimator",
        "proposed",
        "high",
        CONFIDENTIAL,
        "document_processing",
        ("gpt-4o",),
        "Margaret Osei",
        "Idea: estimate repair cost bands from the photos customers upload with a motor claim, to fast-track "
        "small claims. Needs a fairness review before any pilot.",
        ("claims", "vision"),
        value("EUR", per_request="8", budget="2000", roi="2"),
        age_days=20,
    ),
    # --- Customer Service AI ---
    DemoWorkload(
        "Customer Service AI",
        "Contact Centre Agent Assist",
        "production",
        "limited",
        CONFIDENTIAL,
        "customer_support",
        ("claude-sonnet-4", "text-embedding-3-small"),
        "James Whitfield",
        "Listens to the live call transcript and suggests the relevant knowledge article and next best "
        "answer to the agent. The agent always decides what to say.",
        ("contact-centre", "rag", "agent-assist"),
        value("GBP", minutes="1.5", rate="31", run="2500", budget="9000", roi="2"),
        objectives(2500, "0.82", "0.01"),
        (
            R("1.0.0", "Article suggestions for the home insurance queue.", cfg(0.3, 500, 4)),
            R("1.1.0", "All queues; suggestions now quote the article paragraph.", cfg(0.3, 500, 5)),
            R(
                "1.2.0",
                "Answer suggestions stream as the customer speaks; `max_tokens` 500 → 400.",
                cfg(0.3, 400, 5, stream=True),
            ),
        ),
        age_days=380,
    ),
    DemoWorkload(
        "Customer Service AI",
        "Customer Email Reply Drafts",
        "production",
        "limited",
        CONFIDENTIAL,
        "customer_support",
        ("gpt-4o-mini", "gpt-4o"),
        "James Whitfield",
        "Drafts replies to customer emails in the shared inbox, in the brand's tone of voice. Agents edit "
        "and send; nothing goes out unreviewed.",
        ("email", "drafting", "contact-centre"),
        value("GBP", per_request="0.90", run="400", budget="2500", roi="3"),
        objectives(5000, "0.85", "0.02"),
        (
            R(
                "1.0.0",
                "Reply drafts for billing and address changes.",
                cfg(0.4, 700),
                ("gpt-4o-mini",),
                templates=("customer-email-reply-prompt@1.0.0",),
            ),
            R(
                "1.1.0",
                "All email categories; signature block from the agent's profile.",
                cfg(0.4, 700),
                ("gpt-4o-mini",),
                templates=("customer-email-reply-prompt@1.0.0",),
            ),
            R(
                "2.0.0",
                "Moves to gpt-4o with a longer prompt that includes the customer's last three contacts.",
                cfg(0.4, 1200, history=3),
                ("gpt-4o",),
                templates=("customer-email-reply-prompt@1.1.0",),
                rollback_to="1.1.0",
                reason="Weekly evaluation quality fell from 0.86 to 0.74 after 2.0.0 and agents reported "
                "over-long replies; back to 1.1.0 until the new prompt is fixed.",
            ),
            R(
                "2.0.1",
                "Shorter reply template; `max_tokens` 1200 → 600; history limited to the last contact.",
                cfg(0.3, 600, history=1),
                ("gpt-4o",),
                templates=("customer-email-reply-prompt@1.1.0",),
                promote=False,
            ),
        ),
        age_days=330,
    ),
    DemoWorkload(
        "Customer Service AI",
        "Public Website Chatbot",
        "pilot",
        "limited",
        PUBLIC,
        "customer_support",
        ("gemini-2.0-flash",),
        "Sophie Laurent",
        "Answers questions on the public website from the published FAQ and product pages only. It tells "
        "visitors they are talking to an AI and hands over to a person on request.",
        ("chatbot", "website", "public-data"),
        value("GBP", per_request="0.35", run="600", budget="1500", roi="1.5"),
        objectives(2000, "0.80", "0.03"),
        (
            R("1.0.0", "Pilot on the travel insurance pages.", cfg(0.2, 400, 4)),
            R("1.1.0", "All product pages; hand-over to live chat in office hours.", cfg(0.2, 400, 5, handover=True)),
        ),
        age_days=120,
    ),
    DemoWorkload(
        "Customer Service AI",
        "Call Summaries and Wrap-up Codes",
        "development",
        "limited",
        CONFIDENTIAL,
        "customer_support",
        ("gpt-4o-mini",),
        "James Whitfield",
        "Writes the after-call summary and picks the wrap-up code, so agents are ready for the next call sooner.",
        ("contact-centre", "summarisation"),
        value("GBP", minutes="1.2", rate="31", run="250", budget="1200", roi="4"),
        objectives(3000, "0.80", "0.02"),
        (
            R("0.9.0", "First version for the test environment.", cfg(0.1, 300)),
            R(
                "1.0.0",
                "Wrap-up codes from the 2025 code list; summary capped at 80 words.",
                cfg(0.1, 250),
                promote=False,
            ),
        ),
        age_days=55,
    ),
    DemoWorkload(
        "Customer Service AI",
        "Agent Emotion Monitoring",
        "proposed",
        "unacceptable",
        CONFIDENTIAL,
        "analytics",
        (),
        "Paul Mercer",
        "Proposed by workforce management: score contact-centre agents' emotions from call audio to flag "
        "stress and 'attitude'. **Recorded to document the CoE's refusal**: emotion recognition in the "
        "workplace is a prohibited practice under the EU AI Act (Article 5). It will not leave the "
        "proposed stage.",
        ("refused", "eu-ai-act"),
        value("GBP"),
        age_days=75,
    ),
    DemoWorkload(
        "Customer Service AI",
        "Legacy FAQ Bot",
        "retired",
        "minimal",
        PUBLIC,
        "customer_support",
        ("gpt-4o-mini",),
        "Sophie Laurent",
        "The first website FAQ bot: fixed answers picked by a language model. Kept for its history.",
        ("chatbot", "legacy"),
        value("GBP", per_request="0.20", run="150", budget="400"),
        objectives(3000),
        (
            R("1.0.0", "FAQ answers picked from 120 fixed entries.", cfg(0.0, 300)),
            R("1.1.0", "Adds the claims FAQ.", cfg(0.0, 300)),
        ),
        age_days=600,
        retire_reason="Replaced by the Public Website Chatbot.",
    ),
    # --- Developer Productivity ---
    DemoWorkload(
        "Developer Productivity",
        "Code Review Assistant",
        "production",
        "limited",
        INTERNAL,
        "code_assistance",
        ("claude-sonnet-4",),
        "Ravi Shankar",
        "Comments on merge requests: likely bugs, missing tests and security smells. Reviewers resolve or "
        "dismiss each comment; the assistant never approves.",
        ("code-review", "developer-experience"),
        value("USD", minutes="10", rate="95", run="1200", budget="6000", roi="4"),
        objectives(30000, "0.75", "0.02"),
        (
            R("1.0.0", "Python and TypeScript repositories.", cfg(0.2, 1500)),
            R("1.1.0", "Adds Java and Go; skips generated files.", cfg(0.2, 1500, skip_generated=True)),
            R("1.2.0", "Comments grouped by severity; at most 10 per merge request.", cfg(0.2, 1200, max_comments=10)),
        ),
        age_days=400,
    ),
    DemoWorkload(
        "Developer Productivity",
        "Test Generation Bot",
        "pilot",
        "minimal",
        INTERNAL,
        "code_assistance",
        ("gpt-4.1", "o3-mini"),
        "Ravi Shankar",
        "Proposes unit tests for functions changed in a merge request, as a suggested commit the author can "
        "take or leave.",
        ("testing", "developer-experience"),
        value("USD", minutes="15", rate="95", run="300", budget="2500", roi="3"),
        objectives(45000, "0.70", "0.05"),
        (
            R("1.0.0", "pytest and Jest test suggestions.", cfg(0.2, 2000), ("gpt-4.1",)),
            R(
                "1.1.0",
                "Tries o3-mini to choose edge cases. Cannot be promoted until the CoE finishes its review of o3-mini.",
                cfg(0.2, 2000, reasoning_effort="medium"),
                ("gpt-4.1", "o3-mini"),
                promote=False,
            ),
        ),
        age_days=140,
    ),
    DemoWorkload(
        "Developer Productivity",
        "On-call Runbook Agent",
        "development",
        "limited",
        INTERNAL,
        "agents",
        ("claude-3-5-haiku",),
        "Nora Fischer",
        "When an alert fires, gathers the matching runbook, recent deploys and dashboards into the incident "
        "channel. Read-only tools; it cannot change production.",
        ("sre", "agents", "runbooks"),
        value("USD", minutes="12", rate="95", run="200", budget="800", roi="2"),
        objectives(8000, "0.75", "0.05"),
        (
            R("0.1.0", "Runbook lookup only.", cfg(0.0, 800, 3, tools=["runbook_search"])),
            R("0.2.0", "Adds recent deploys and Grafana links.", cfg(0.0, 800, 3, tools=["runbook_search", "deploys"])),
        ),
        age_days=70,
    ),
    DemoWorkload(
        "Developer Productivity",
        "SQL Assistant for Analysts",
        "retired",
        "limited",
        INTERNAL,
        "code_assistance",
        ("gemini-1.5-pro",),
        "Tom Becker",
        "Wrote warehouse SQL from questions in plain English, with the schema in the prompt.",
        ("sql", "data-warehouse"),
        value("USD", minutes="5", rate="80", run="100", budget="500"),
        objectives(10000, "0.70"),
        (
            R("1.0.0", "Finance and sales schemas.", cfg(0.0, 800)),
            R("1.1.0", "All schemas; explains the query it wrote.", cfg(0.0, 1000)),
        ),
        age_days=520,
        retire_reason="The data warehouse vendor now ships its own assistant; usage fell below 20 requests a week.",
    ),
    DemoWorkload(
        "Developer Productivity",
        "Developer Portal Search",
        "production",
        "minimal",
        INTERNAL,
        "search_knowledge",
        ("gpt-4o-mini", "text-embedding-3-small"),
        "Ravi Shankar",
        "Answers engineering questions from the developer portal, ADRs and API docs, with links to the sources.",
        ("search", "rag", "developer-experience"),
        value("USD", minutes="3", rate="95", run="150", budget="600", roi="5"),
        objectives(3000, "0.80", "0.01"),
        (
            R("1.0.0", "Developer portal pages.", cfg(0.1, 600, 5), templates=("grounded-answer-prompt@1.0.0",)),
            R(
                "1.1.0",
                "Adds architecture decision records.",
                cfg(0.1, 600, 6),
                templates=("grounded-answer-prompt@1.0.0",),
            ),
            R(
                "1.2.0",
                "Adds the API reference; answers cite section anchors.",
                cfg(0.1, 700, 6),
                templates=("grounded-answer-prompt@1.0.0",),
            ),
        ),
        age_days=250,
    ),
    # --- Risk Analytics ---
    DemoWorkload(
        "Risk Analytics",
        "Credit Memo Drafting",
        "pilot",
        "high",
        RESTRICTED,
        "analytics",
        ("llama-3.1-70b-instruct", "bge-m3"),
        "Helen Achterberg",
        "Drafts the first version of a commercial credit memo from the financial statements and the "
        "relationship manager's notes. The credit officer owns the memo and the decision.",
        ("credit", "self-hosted", "rag"),
        value("USD", minutes="45", rate="110", run="5200", budget="6000", roi="1.5"),
        objectives(20000, "0.88", "0.01"),
        (
            R("1.0.0", "Pilot with the mid-market credit team.", cfg(0.2, 2500, 8)),
            R("1.1.0", "Adds the covenant summary section.", cfg(0.2, 3000, 8)),
        ),
        age_days=150,
    ),
    DemoWorkload(
        "Risk Analytics",
        "Fraud Case Narratives",
        "production",
        "high",
        CONFIDENTIAL,
        "analytics",
        ("claude-sonnet-4",),
        "Marco Bianchi",
        "Turns the alerts and transactions of a fraud case into the narrative investigators file with the "
        "case, with every figure traceable to a transaction id.",
        ("fraud", "aml", "narratives"),
        value("USD", minutes="20", rate="70", run="900", budget="3000", roi="3"),
        objectives(15000, "0.85", "0.01"),
        (
            R("1.0.0", "Card fraud cases.", cfg(0.1, 1500)),
            R("1.1.0", "Adds account takeover cases.", cfg(0.1, 1500)),
            R(
                "1.2.0",
                "Every amount links to its transaction id; numbers are checked after generation.",
                cfg(0.1, 1600, verify_amounts=True),
            ),
        ),
        age_days=310,
    ),
    DemoWorkload(
        "Risk Analytics",
        "Transaction Anomaly Explanations",
        "development",
        "high",
        CONFIDENTIAL,
        "analytics",
        ("mistral-large",),
        "Marco Bianchi",
        "Explains in plain language why the anomaly model scored a transaction high, for first-line analysts.",
        ("fraud", "explanations"),
        value("USD", per_request="1.20", run="400", budget="1500", roi="2"),
        objectives(6000, "0.80", "0.02"),
        (
            R("0.1.0", "Explanations from the top five model features.", cfg(0.2, 400)),
            R("0.2.0", "Explanations in French and Italian for the branch analysts.", cfg(0.2, 450), promote=False),
        ),
        age_days=45,
    ),
    DemoWorkload(
        "Risk Analytics",
        "Market News Digest",
        "retired",
        "minimal",
        PUBLIC,
        "analytics",
        ("gemini-2.0-flash",),
        "Helen Achterberg",
        "A morning digest of public market news for the risk committee.",
        ("news", "digest"),
        value("USD", fixed="1500", run="120", budget="300"),
        objectives(60000, "0.75"),
        (R("1.0.0", "Daily digest at 07:00.", cfg(0.3, 1200)),),
        age_days=480,
        retire_reason="The research provider now includes its own summaries in our licence.",
    ),
    # --- Marketing Content ---
    DemoWorkload(
        "Marketing Content",
        "Campaign Copy Generator",
        "production",
        "limited",
        PUBLIC,
        "content_generation",
        ("gemini-2.0-flash", "gpt-4o-mini"),
        "Chloé Dubois",
        "Drafts campaign headlines, body copy and A/B variants in the brand voice. Every piece is approved "
        "by a copywriter before publication.",
        ("marketing", "copywriting", "brand-voice"),
        value("EUR", per_request="2.50", run="300", budget="1200", roi="5"),
        objectives(6000, "0.75", "0.03"),
        (
            R("1.0.0", "Headlines and body copy.", cfg(0.8, 800), ("gpt-4o-mini",)),
            R(
                "1.1.0",
                "A/B variants generated by Gemini 2.0 Flash.",
                cfg(0.8, 900),
                ("gemini-2.0-flash", "gpt-4o-mini"),
            ),
            R("1.2.0", "Brand voice guide v3 in the prompt.", cfg(0.7, 900, brand_guide="v3")),
        ),
        age_days=360,
    ),
    DemoWorkload(
        "Marketing Content",
        "Product Description Localisation",
        "production",
        "minimal",
        INTERNAL,
        "content_generation",
        ("mistral-large",),
        "Chloé Dubois",
        "Localises product descriptions from English into French, German, Italian and Spanish with the "
        "approved terminology list.",
        ("localisation", "translation"),
        value("EUR", minutes="8", rate="45", run="250", budget="1000", roi="4"),
        objectives(8000, "0.85", "0.02"),
        (
            R("1.0.0", "French and German.", cfg(0.2, 1000, languages=["fr", "de"])),
            R(
                "1.1.0",
                "Adds Italian and Spanish; terminology list enforced.",
                cfg(0.2, 1000, languages=["fr", "de", "it", "es"]),
            ),
        ),
        age_days=220,
    ),
    DemoWorkload(
        "Marketing Content",
        "Social Media Image Briefs",
        "proposed",
        "limited",
        PUBLIC,
        "content_generation",
        ("gemini-2.0-flash",),
        "Chloé Dubois",
        "Idea: write briefs for the design agency from the campaign plan, with mood and composition notes.",
        ("social-media",),
        value("EUR", per_request="5", budget="300"),
        age_days=12,
    ),
    DemoWorkload(
        "Marketing Content",
        "SEO Article Drafts",
        "retired",
        "limited",
        PUBLIC,
        "content_generation",
        ("gpt-4o-mini",),
        "Chloé Dubois",
        "Drafted long-form articles for the website's advice section.",
        ("seo", "content"),
        value("EUR", per_request="15", run="50", budget="300", roi="3"),
        objectives(30000, "0.80"),
        (R("1.0.0", "Articles of 800–1,200 words from a topic and keywords.", cfg(0.7, 2500)),),
        age_days=280,
        retired_from="pilot",
        retire_reason="Editorial review found the drafts too generic to publish; "
        "the experiment stopped after the pilot.",
    ),
    DemoWorkload(
        "Marketing Content",
        "Product Image Alt Text",
        "development",
        "minimal",
        PUBLIC,
        "other",
        ("gemini-2.0-flash",),
        "Chloé Dubois",
        "Writes alternative text for product images on the website, for accessibility.",
        ("accessibility", "vision"),
        value("EUR", minutes="2", rate="45", run="30", budget="100", roi="3"),
        objectives(4000, "0.85"),
        (R("0.1.0", "Alt text under 125 characters.", cfg(0.2, 100)),),
        age_days=35,
    ),
    # --- Legal Operations ---
    DemoWorkload(
        "Legal Operations",
        "Contract Clause Extraction",
        "production",
        "high",
        CONFIDENTIAL,
        "document_processing",
        ("claude-sonnet-4", "text-embedding-3-small", "claude-opus-4"),
        "Olivia Grant",
        "Finds and extracts 40 standard clauses (liability caps, termination, governing law, indemnities) "
        "from supplier contracts into the contract register, with the page reference of each.",
        ("contracts", "extraction", "legal"),
        value("GBP", minutes="35", rate="140", run="1500", budget="5000", roi="3"),
        objectives(25000, "0.90", "0.01"),
        (
            R(
                "1.0.0",
                "25 clauses from supplier contracts.",
                cfg(0.0, 2000, 8),
                ("claude-sonnet-4", "text-embedding-3-small"),
            ),
            R(
                "1.1.0",
                "40 clauses; page references.",
                cfg(0.0, 2500, 8),
                ("claude-sonnet-4", "text-embedding-3-small"),
            ),
            R(
                "1.2.0",
                "Customer contracts as well as supplier contracts.",
                cfg(0.0, 2500, 10),
                ("claude-sonnet-4", "text-embedding-3-small"),
            ),
            R(
                "1.3.0",
                "Trial of Claude Opus 4 for indemnity clauses; held as a draft until the CoE's review of Opus 4 ends.",
                cfg(0.0, 2500, 10, indemnity_model="claude-opus-4"),
                ("claude-sonnet-4", "claude-opus-4", "text-embedding-3-small"),
                promote=False,
            ),
        ),
        age_days=370,
    ),
    DemoWorkload(
        "Legal Operations",
        "NDA First-Pass Review",
        "pilot",
        "high",
        CONFIDENTIAL,
        "document_processing",
        ("gpt-4o",),
        "Olivia Grant",
        "Compares incoming NDAs with the company's playbook and marks every deviation for a lawyer.",
        ("contracts", "nda", "legal"),
        value("GBP", minutes="25", rate="140", run="300", budget="1500", roi="4"),
        objectives(20000, "0.90", "0.01"),
        (R("1.0.0", "Playbook of 18 positions.", cfg(0.0, 2000)),),
        age_days=100,
    ),
    DemoWorkload(
        "Legal Operations",
        "Regulatory Change Monitor",
        "development",
        "limited",
        PUBLIC,
        "search_knowledge",
        ("gemini-1.5-pro",),
        "Olivia Grant",
        "Reads regulators' publications each week and flags the ones that may affect our products.",
        ("regulation", "monitoring"),
        value("GBP", fixed="3000", run="200", budget="600", roi="5"),
        objectives(60000, "0.80"),
        (R("0.1.0", "FCA and EBA publications.", cfg(0.1, 1500)),),
        age_days=60,
    ),
    # --- Finance Operations ---
    DemoWorkload(
        "Finance Operations",
        "Invoice Data Capture",
        "production",
        "limited",
        CONFIDENTIAL,
        "document_processing",
        ("gpt-4o",),
        "Daniel Mensah",
        "Reads supplier invoices (PDF and scans) and fills the accounts-payable entry: supplier, VAT "
        "number, lines, totals. Mismatches with the purchase order go to a person.",
        ("invoices", "extraction", "accounts-payable"),
        value("USD", minutes="3", rate="40", run="700", budget="2500", roi="2.5"),
        objectives(9000, "0.95", "0.01"),
        (
            R("1.0.0", "PDF invoices in English.", cfg(0.0, 1200)),
            R("1.1.0", "Scanned invoices; German and French.", cfg(0.0, 1200, ocr=True)),
            R(
                "1.2.0",
                "Line items split by VAT rate.",
                cfg(0.0, 1500, ocr=True, split_vat=True),
                rollback_to="1.1.0",
                reason="3 % of invoices lost their supplier VAT number after 1.2.0; back to 1.1.0 until the "
                "extraction prompt is fixed.",
            ),
        ),
        age_days=290,
    ),
    DemoWorkload(
        "Finance Operations",
        "Expense Policy Q&A",
        "pilot",
        "minimal",
        INTERNAL,
        "search_knowledge",
        ("claude-3-5-haiku", "text-embedding-3-small"),
        "Daniel Mensah",
        "Answers employees' questions about the travel and expense policy, quoting the policy section.",
        ("expenses", "policy", "rag"),
        value("USD", minutes="4", rate="55", run="80", budget="300", roi="3"),
        objectives(3000, "0.85", "0.02"),
        (R("1.0.0", "Travel and expense policy 2025.", cfg(0.1, 500, 4), templates=("grounded-answer-prompt@1.1.0",)),),
        age_days=90,
    ),
    DemoWorkload(
        "Finance Operations",
        "Month-End Variance Commentary",
        "proposed",
        "limited",
        CONFIDENTIAL,
        "analytics",
        ("claude-sonnet-4",),
        "Daniel Mensah",
        "Idea: draft the commentary on budget-versus-actual variances for the monthly management pack.",
        ("month-end", "reporting"),
        value("USD", fixed="4000", budget="500", roi="5"),
        age_days=15,
    ),
    # --- People Services ---
    DemoWorkload(
        "People Services",
        "HR Policy Assistant",
        "production",
        "limited",
        INTERNAL,
        "search_knowledge",
        ("gpt-4o-mini", "text-embedding-3-small"),
        "Ingrid Svensson",
        "Answers employees' questions on leave, benefits and working time from the HR policies of their "
        "country, and routes personal cases to an HR adviser.",
        ("hr", "policy", "rag"),
        value("EUR", minutes="6", rate="50", run="350", budget="900", roi="3"),
        objectives(4000, "0.85", "0.02"),
        (
            R(
                "1.0.0",
                "Policies for Germany and the Netherlands.",
                cfg(0.1, 600, 5),
                templates=("grounded-answer-prompt@1.0.0",),
            ),
            R(
                "1.1.0",
                "Adds France and Spain; answers in the employee's language.",
                cfg(0.1, 600, 5),
                templates=("grounded-answer-prompt@1.1.0",),
            ),
            R(
                "1.2.0",
                "Hands personal cases to an HR adviser instead of answering.",
                cfg(0.1, 600, 5, handover=True),
                templates=("grounded-answer-prompt@1.1.0", "pii-redaction-prompt@1.1.0"),
            ),
        ),
        age_days=270,
    ),
    DemoWorkload(
        "People Services",
        "CV Screening Shortlister",
        "proposed",
        "high",
        RESTRICTED,
        "analytics",
        ("llama-3.1-70b-instruct",),
        "Ingrid Svensson",
        "Idea: rank applications against the job profile for recruiters. Recruitment is a **high-risk** use "
        "under the EU AI Act (Annex III): it needs bias testing, human review of every decision and the "
        "works council's agreement before development starts.",
        ("recruiting", "eu-ai-act"),
        value("EUR", minutes="10", rate="50", budget="2000", roi="2"),
        age_days=25,
    ),
    # --- Knowledge Management ---
    DemoWorkload(
        "Knowledge Management",
        "Enterprise Search Answers",
        "production",
        "limited",
        CONFIDENTIAL,
        "search_knowledge",
        ("gpt-4o", "gpt-4o-mini", "text-embedding-3-small"),
        "Samuel Okoro",
        "Answers questions over SharePoint, Confluence and the policy library, respecting each document's "
        "permissions, and links every answer to its sources.",
        ("search", "rag", "sharepoint"),
        value("USD", minutes="5", rate="75", run="2200", budget="7500", roi="2"),
        objectives(5000, "0.82", "0.02"),
        (
            R(
                "1.0.0",
                "SharePoint sites of head office.",
                cfg(0.1, 800, 5),
                ("gpt-4o-mini", "text-embedding-3-small"),
                templates=("grounded-answer-prompt@1.0.0",),
            ),
            R(
                "1.1.0",
                "Adds Confluence.",
                cfg(0.1, 800, 6),
                ("gpt-4o-mini", "text-embedding-3-small"),
                templates=("grounded-answer-prompt@1.0.0",),
            ),
            R(
                "2.0.0",
                "Answers by gpt-4o; gpt-4o-mini rewrites the query first.",
                cfg(0.1, 800, 6, query_rewrite="gpt-4o-mini"),
                ("gpt-4o", "gpt-4o-mini", "text-embedding-3-small"),
                templates=("grounded-answer-prompt@1.1.0",),
            ),
            R(
                "2.1.0",
                "Hybrid retrieval (keyword and vector); `top_k` 6 → 8.",
                cfg(0.1, 800, 8, query_rewrite="gpt-4o-mini", hybrid=True),
                ("gpt-4o", "gpt-4o-mini", "text-embedding-3-small"),
                templates=("grounded-answer-prompt@1.1.0",),
                promote=False,
            ),
        ),
        age_days=390,
    ),
    DemoWorkload(
        "Knowledge Management",
        "Meeting Notes Summariser",
        "development",
        "minimal",
        INTERNAL,
        "content_generation",
        ("claude-3-5-haiku",),
        "Samuel Okoro",
        "Turns meeting transcripts into decisions, actions and owners.",
        ("meetings", "summarisation"),
        value("USD", minutes="10", rate="75", run="100", budget="400", roi="4"),
        objectives(5000, "0.80"),
        (R("0.1.0", "Decisions and actions.", cfg(0.2, 600)),),
        age_days=40,
    ),
]

# --- Adoptions of library templates ----------------------------------------------------------

# workload, template slug, version, how the workload uses it. Several are on an older version than
# the template's current one, so "behind the current version" shows; prompt templates are adopted
# through releases (DemoRelease.templates) instead.
ADOPTIONS = [
    ("Claims Triage Assistant", "rag-reference-architecture", "1.1.0", "Policy-wording index and retrieval."),
    ("Claims Triage Assistant", "model-provider-outage-runbook", "1.1.0", "Fallback from gpt-4o to Claude Sonnet 4."),
    ("Claims Triage Assistant", "pre-production-genai-launch-checklist", "2.0.0", "Checked before 1.0.0 went live."),
    ("Claims Triage Assistant", "llm-as-judge-faithfulness-rubric", "1.0.0", "Weekly evaluation of triage notes."),
    ("Claims Letter Summariser", "model-provider-outage-runbook", "2.0.0", "Gateway fallback to Claude 3.5 Haiku."),
    ("Claims Letter Summariser", "token-budget-and-cost-guardrails-checklist", "1.0.0", "Monthly cost review."),
    ("Medical Report Extraction", "self-hosted-model-serving-blueprint", "1.0.0", "Runs on the vLLM cluster."),
    ("Medical Report Extraction", "responsible-ai-impact-assessment-template", "1.0.0", "Health data, high risk."),
    ("Medical Report Extraction", "safety-red-teaming-rubric", "1.1.0", "Red-teamed before the pilot."),
    ("Contact Centre Agent Assist", "latency-slo-runbook", "1.0.0", "Suggestions must arrive within the call."),
    ("Contact Centre Agent Assist", "rag-reference-architecture", "1.0.0", "Knowledge article index."),
    ("Contact Centre Agent Assist", "model-provider-outage-runbook", "2.0.0", "Fallback to gpt-4o."),
    ("Customer Email Reply Drafts", "pre-production-genai-launch-checklist", "1.1.0", "Launch of 1.0.0."),
    ("Customer Email Reply Drafts", "llm-as-judge-faithfulness-rubric", "1.0.0", "Weekly quality evaluation."),
    ("Public Website Chatbot", "customer-facing-chatbot-blueprint", "1.0.0", "The bot's architecture."),
    ("Public Website Chatbot", "safety-red-teaming-rubric", "2.0.0", "Red-teamed before each release."),
    ("Public Website Chatbot", "pre-production-genai-launch-checklist", "2.0.0", "Go-live of the pilot."),
    ("Code Review Assistant", "token-budget-and-cost-guardrails-checklist", "1.1.0", "At most 10 comments per MR."),
    ("Code Review Assistant", "latency-slo-runbook", "1.1.0", "Reviews within the 30-second objective."),
    ("Developer Portal Search", "rag-reference-architecture", "2.0.0", "Permission-aware retrieval."),
    ("Developer Portal Search", "drift-monitoring-playbook", "1.0.0", "Weekly golden-set run."),
    ("On-call Runbook Agent", "model-provider-outage-runbook", "1.0.0", "One of the runbooks the agent retrieves."),
    ("Credit Memo Drafting", "self-hosted-model-serving-blueprint", "1.0.0", "Restricted data on the cluster."),
    ("Credit Memo Drafting", "responsible-ai-impact-assessment-template", "1.0.0", "Signed off for the pilot."),
    ("Credit Memo Drafting", "model-evaluation-before-upgrade", "1.0.0", "Before each Llama snapshot change."),
    ("Fraud Case Narratives", "llm-as-judge-faithfulness-rubric", "1.0.0", "Every figure traced to a source."),
    ("Fraud Case Narratives", "pre-production-genai-launch-checklist", "1.0.0", "Launch of 1.0.0."),
    ("Campaign Copy Generator", "token-budget-and-cost-guardrails-checklist", "1.0.0", "A/B variants budget."),
    ("Contract Clause Extraction", "model-evaluation-before-upgrade", "1.0.0", "Used for the Opus 4 trial."),
    ("Contract Clause Extraction", "rag-reference-architecture", "1.1.0", "Clause retrieval."),
    ("Invoice Data Capture", "model-evaluation-before-upgrade", "1.0.0", "gpt-4o snapshot upgrades."),
    ("Invoice Data Capture", "latency-slo-runbook", "1.0.0", "Month-end peaks."),
    ("HR Policy Assistant", "rag-reference-architecture", "2.0.0", "Country policies by permission group."),
    ("HR Policy Assistant", "responsible-ai-impact-assessment-template", "1.0.0", "Employee-facing assistant."),
    ("Enterprise Search Answers", "rag-reference-architecture", "2.0.0", "The reference implementation."),
    ("Enterprise Search Answers", "drift-monitoring-playbook", "1.0.0", "Weekly golden-set run."),
    ("Enterprise Search Answers", "latency-slo-runbook", "1.1.0", "Query rewrite adds a model call."),
    ("Expense Policy Q&A", "token-budget-and-cost-guardrails-checklist", "1.1.0", "Pilot budget of $300."),
]


def _seed_adoptions() -> None:
    """Adopt through ``adoption.adoption_set`` as the team's owner; an existing adoption of the
    template is left as it is (whatever version the team has moved it to since)."""
    now = timezone.now()
    for name, slug, number, note in ADOPTIONS:
        workload = Workload.objects.select_related("team").filter(slug=slugify(name)).first()
        if (
            workload is None
            or workload.is_retired
            or Adoption.objects.filter(workload=workload, template__slug=slug).exists()
        ):
            continue
        version = TemplateVersion.objects.filter(template__slug=slug, number=number).first()
        if version is None:
            raise RuntimeError(f"Demo template version {slug}@{number} missing (apps.library.demo seeds it).")
        owner = Membership.objects.filter(team=workload.team, role=Membership.Role.OWNER).first()
        made = adoption.adoption_set(actor=owner.user if owner else None, workload=workload, version=version, note=note)
        # Adopted a few days after the version came out (or the workload was registered).
        adopted_at = max(filter(None, [version.published_at, workload.created_at])) + timedelta(days=3)
        Adoption.objects.filter(pk=made.pk).update(adopted_at=min(adopted_at, now - timedelta(days=1)))


# The path through the stages of a workload that got this far (it is registered in the first).
STAGE_PATH = {
    "proposed": ["proposed"],
    "development": ["development"],
    "pilot": ["development", "pilot"],
    "production": ["development", "pilot", "production"],
}


def _email(name: str) -> str:
    return slugify(name.replace("Dr ", "")).replace("-", ".") + "@example.org"


def _release_models(spec: DemoWorkload, release: DemoRelease, models: dict[str, AIModel]) -> list[AIModel]:
    if release.models:
        return [models[key] for key in release.models]
    return [models[key] for key in spec.models if models[key].is_usable]


def _template_versions(release: DemoRelease) -> list[TemplateVersion]:
    found = []
    for ref in release.templates:
        slug, number = ref.split("@")
        version = TemplateVersion.objects.filter(template__slug=slug, number=number).first()
        if version is None:
            raise RuntimeError(f"Demo template version {ref} missing (apps.library.demo seeds it).")
        found.append(version)
    return found


def _play_releases(workload: Workload, spec: DemoWorkload, models: dict[str, AIModel]) -> list[int]:
    """Create (and promote, or roll back) the releases the workload does not have yet.

    Returns the ids of the new releases, in the order they were created."""
    existing = set(workload.releases.values_list("version", flat=True))
    created = []
    for step in spec.releases:
        if step.version in existing:
            continue
        release = services.release_create(
            actor=None,
            workload=workload,
            version=step.version,
            ai_models=_release_models(spec, step, models),
            changelog=step.changelog,
            config=step.config,
            template_versions=_template_versions(step),
        )
        created.append(release.pk)
        if step.promote:
            services.release_promote(actor=None, release=release)
        if step.rollback_to:
            target = workload.releases.get(version=step.rollback_to)
            services.release_rollback(actor=None, release=target, reason=step.reason)
    return created


def _backdate(workload: Workload, spec: DemoWorkload, release_ids: list[int]) -> None:
    """Spread a new workload's history over the months before today.

    No service sets past dates (they stamp "now"), so this one is a plain ORM update of the
    timestamps the services just wrote: the workload's creation, its releases and their timeline
    events. The audit trail is left as it is: it truthfully says when the demo data was loaded.
    """
    now = timezone.now()
    registered = now - timedelta(days=spec.age_days)
    Workload.objects.filter(pk=workload.pk).update(created_at=registered)
    if not release_ids:
        return
    last = now - timedelta(days=max(spec.age_days // 5, 90) if spec.stage == "retired" else 5)
    first = registered + timedelta(days=min(14, spec.age_days // 4))
    step = (last - first) / max(len(release_ids) - 1, 1)
    start = {pk: first + step * i for i, pk in enumerate(release_ids)}
    offsets = {ReleaseEvent.Kind.CREATED: 0, ReleaseEvent.Kind.PROMOTED: 1, ReleaseEvent.Kind.ROLLED_BACK: 3}
    # Events come in the order of the script; each belongs to the release created last (a rollback
    # names the earlier release it went back to, but happened after the one it undid).
    current = release_ids[0]
    for event in ReleaseEvent.objects.filter(workload=workload).order_by("pk"):
        if event.kind == ReleaseEvent.Kind.CREATED:
            current = event.release_id
        ReleaseEvent.objects.filter(pk=event.pk).update(at=start[current] + timedelta(days=offsets[event.kind]))
    for pk in release_ids:
        Release.objects.filter(pk=pk).update(created_at=start[pk])
        Release.objects.filter(pk=pk, promoted_at__isnull=False).update(promoted_at=start[pk] + timedelta(days=1))
    if spec.stage == "retired":
        Workload.objects.filter(pk=workload.pk).update(retired_at=last + timedelta(days=30))


def _seed_workload(spec: DemoWorkload, teams: dict[str, Team], models: dict[str, AIModel]) -> None:
    slug = slugify(spec.name)
    workload = Workload.objects.filter(slug=slug).first()
    if workload is not None:
        if not workload.is_retired:
            _play_releases(workload, spec, models)  # top up releases added to this file since
        return
    final_stage = spec.retired_from if spec.stage == "retired" else spec.stage
    path = STAGE_PATH[final_stage]
    workload = services.workload_register(
        actor=None,
        team=teams[spec.team],
        name=spec.name,
        slug=slug,
        ai_models=[models[key] for key in spec.models],
        tags=spec.tags,
        description=spec.description,
        business_owner=spec.owner,
        business_owner_email=_email(spec.owner),
        lifecycle_stage=path[0],
        risk_tier=spec.risk,
        data_classification=spec.data,
        use_case_category=spec.category,
        repository_url=f"https://git.example.org/{teams[spec.team].slug}/{slug}",
        runbook_url=f"https://wiki.example.org/runbooks/{slug}" if final_stage != "proposed" else "",
        dashboard_url=f"https://grafana.example.org/d/{slug}" if final_stage in {"pilot", "production"} else "",
        **spec.value,
        **spec.objectives,
    )
    release_ids = _play_releases(workload, spec, models)
    for stage in path[1:]:
        workload = services.workload_update(actor=None, workload=workload, lifecycle_stage=stage)
    if spec.stage == "retired":
        services.workload_retire(actor=None, workload=workload, reason=spec.retire_reason)
    _backdate(workload, spec, release_ids)


# (currency, days ago it takes effect, units per US dollar): examples, not market rates.
EXCHANGE_RATES = (("EUR", 400, "0.93"), ("EUR", 20, "0.91"), ("GBP", 400, "0.80"), ("GBP", 20, "0.78"))
RATE_NOTE = "Example rate for the demo — the CoE sets the rates it books against"


def _seed_exchange_rates() -> None:
    """Once per currency: a later run (another day) leaves the rates as they are."""
    today = timezone.now().date()
    seeded = set(ExchangeRate.objects.values_list("currency", flat=True))
    for currency, days_ago, per_usd in EXCHANGE_RATES:
        if currency not in seeded:
            day = today - timedelta(days=days_ago)
            services.exchange_rate_add(actor=None, currency=currency, effective_from=day, per_usd=Decimal(per_usd),
                                       note=RATE_NOTE)  # fmt: skip


def seed() -> list[tuple[str, str, str]]:
    _seed_exchange_rates()
    models = _seed_models()
    teams = {team.name: team for team in Team.objects.filter(name__in={w.team for w in WORKLOADS})}
    missing = {w.team for w in WORKLOADS} - set(teams)
    if missing:
        raise RuntimeError(f"Demo teams missing (apps.accounts.demo seeds them): {', '.join(sorted(missing))}.")
    # These histories happened before today's rules (governance approvals, policies): load them
    # as they were, without gates.
    with gates.suspended():
        for spec in WORKLOADS:
            _seed_workload(spec, teams, models)
    _seed_adoptions()
    # New library versions after the adoptions: the publish hook tells the adopting teams.
    library_demo.publish_followups()
    return []  # the sign-ins are printed by accounts' demo
