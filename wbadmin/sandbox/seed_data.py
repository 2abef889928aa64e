"""The demo organization's story: names of people, teams, projects and models.

Kept apart from the generator so the story reads in one place.
"""

from __future__ import annotations

ORG_NAME = "inference-systems"
EMAIL_DOMAIN = "inference-systems.ai"

# The named demo identities that `wbadmin sandbox keys` prints, one per kind of access.
# username -> (display name, org role, models seat, {team: role}, {registry: role})
IDENTITIES: dict[str, tuple[str, str, str, dict[str, str], dict[str, str]]] = {
    "alice": ("Alice Chen", "admin", "full",
              {"llm-platform-eng": "admin", "data-science-nlp": "admin", "ml-infra": "admin"}, {}),
    "bob": ("Bob Okafor", "member", "full",
            {"data-science-nlp": "admin", "product-ai-agents": "member"}, {"model": "member"}),
    "carol": ("Carol Diaz", "member", "full",
              {"data-science-nlp": "member", "product-ai-agents": "member"}, {"model": "member"}),
    "victor": ("Victor Lindqvist", "viewer", "viewer",
               {"data-science-nlp": "viewer", "ai-governance": "viewer"}, {"model": "viewer"}),
    "grace": ("Grace Hopkins", "member", "full",
              {"ai-governance": "admin", "llm-platform-eng": "member"}, {"model": "admin"}),
}

FIRST_NAMES = [
    "Aarav", "Beatriz", "Chidi", "Dana", "Elif", "Farah", "Gustavo", "Hana", "Ivan", "Jia",
    "Kofi", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tariq",
    "Uma", "Vikram", "Wen", "Ximena", "Yusuf", "Zara", "Malik", "Ingrid", "Hiro", "Leila",
    "Noah", "Ana", "Emeka", "Sofia", "Kai", "Mina", "Rafael", "Tess", "Oskar", "Lucia",
]
LAST_NAMES = [
    "Nakamura", "Silva", "Okonkwo", "Levi", "Yilmaz", "Haddad", "Pereira", "Sato", "Petrov",
    "Wang", "Mensah", "Fischer", "Garcia", "Rahman", "Aziz", "Sharma", "Dubois", "Moreno",
    "Berg", "Khan", "Iyer", "Patel", "Zhou", "Ruiz", "Demir", "Ahmed", "Johnson", "Larsen",
]

# team -> (description, projects)
TEAMS: dict[str, list[str]] = {
    "llm-platform-eng": ["fine-tune-llama-3-support", "inference-gateway-load", "tokenizer-audit",
                         "kv-cache-experiments", "serving-latency-sweeps"],
    "data-science-nlp": ["embedding-benchmarks", "rag-pipeline-v2", "support-agent-rag-v1",
                         "intent-classifier", "summarization-evals", "multilingual-ner"],
    "product-ai-agents": ["agent-tool-use", "support-agent-rag-v1-prod-evals", "planner-rl"],
    "ai-governance": ["toxicity-audits", "red-team-evals"],
    "ml-infra": ["gpu-burn-in", "dataloader-profiling", "checkpoint-compat"],
    "search-relevance": ["reranker-xl", "query-rewrite", "click-models"],
    "vision-research": ["clip-finetune", "doc-layout-detector"],
    "eval-benchmarks": ["mmlu-tracking", "human-pref-evals", "regression-suite"],
    "customer-insights": ["churn-signals", "ticket-topic-models"],
}

# Teams whose admin situation is part of the story (the access findings show them).
SINGLE_ADMIN_TEAM = "ai-governance"   # grace is its only admin
NO_ADMIN_TEAM = "customer-insights"   # its admin left; nobody holds the role

CUSTOM_ROLES = [
    # name, description, inherited from, permissions
    ("ml-ops-engineer", "Members who may also manage artifact aliases and automations",
     "member", ["artifact:manage_aliases", "automation:manage", "project:update"]),
    ("auditor", "Read-only access plus audit-log and run-metadata reading",
     "viewer", ["audit_log:read", "run:read_metadata"]),
]

# Registries under the org entity: name -> (description, visibility, protected aliases)
REGISTRIES: dict[str, tuple[str, str, list[str]]] = {
    "model": ("Models approved for staging and production serving", "organization",
              ["production", "staging"]),
    "dataset": ("Curated evaluation and training datasets", "restricted", ["gold"]),
}

# Model registry collections: name -> (source team, source project, versions, metric name)
MODEL_COLLECTIONS: dict[str, tuple[str, str, int]] = {
    "support-chatbot-ft": ("llm-platform-eng", "fine-tune-llama-3-support", 8),
    "rag-embedder-v1": ("data-science-nlp", "embedding-benchmarks", 4),
    "intent-classifier": ("data-science-nlp", "intent-classifier", 13),
    "toxicity-filter": ("ai-governance", "toxicity-audits", 3),
    "reranker-xl": ("search-relevance", "reranker-xl", 5),
}
DATASET_COLLECTIONS: dict[str, tuple[str, str, int]] = {
    "support-tickets-gold": ("data-science-nlp", "rag-pipeline-v2", 3),
    "red-team-prompts": ("ai-governance", "red-team-evals", 2),
}

# Pending promotion requests: (collection, version, target, requester, comment, ticket)
PENDING_PROMOTIONS = [
    ("support-chatbot-ft", 7, "production", "bob", "beats v5 on evals", "NLP-231"),
    ("rag-embedder-v1", 3, "staging", "carol", "new hard-negative mining", "NLP-240"),
    ("intent-classifier", 12, "production", "bob", "adds 4 new intents for billing", None),
]

# Protected aliases of the model registry moved through wbadmin's approval workflow: holder
# collection -> (requester, approver). Their holders carry an approved promotion record.
APPROVED_PROMOTIONS = {
    "support-chatbot-ft": ("grace", "alice"),
    "rag-embedder-v1": ("carol", "alice"),
    "intent-classifier": ("bob", "alice"),
    "toxicity-filter": ("grace", "alice"),
    "reranker-xl": ("alice", "grace"),
}
# One protected alias moved outside the workflow (straight through the SDK): (collection,
# alias, version). Its new holder has no approval record for it; the old one keeps its record.
OUTSIDE_WORKFLOW = ("reranker-xl", "production", 3)

GPU_TYPES = ["NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB", "NVIDIA L40S"]
RUN_ADJECTIVES = ["brisk", "quiet", "amber", "lucid", "swift", "stellar", "misty", "gentle",
                  "bold", "vivid", "radiant", "silver", "crimson", "northern", "eager"]
RUN_NOUNS = ["sky", "river", "forest", "comet", "harbor", "meadow", "lantern", "summit",
             "falcon", "glacier", "ember", "orbit", "canyon", "breeze", "tide"]
