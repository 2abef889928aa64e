"""Run-policy facts for the demo: most runs carry a Jira-style ticket tag (`NLP-231`), some
do not; the LLM teams' runs mostly record `prompt_template_version` in their config.

A pass over the seeded runs in SQL, decided by each run's id (no random stream is drawn:
every other seeded fact stays what it was), so `demo` and the scale presets agree on the
demo's runs.
"""

from __future__ import annotations

from .db import Database

# A team's ticket prefix: the demo's teams by name, any other team by its name's start.
PREFIXES = {"llm-platform-eng": "LLM", "data-science-nlp": "NLP", "product-ai-agents": "AGT",
            "ai-governance": "GOV", "ml-infra": "INFRA", "search-relevance": "SRCH",
            "vision-research": "VIS", "eval-benchmarks": "EVAL", "customer-insights": "CX"}
PROMPT_TEAMS = ("llm-platform-eng", "product-ai-agents")


def seed_run_tickets(db: Database, first_run_id: int = 0) -> None:
    """Tag 7 of 10 runs (from `first_run_id` on) with their team's ticket, and give the
    prompt teams' runs (and a third of the other teams' projects, at scale) a prompt
    template version in 4 of 5 runs."""
    cases = " ".join(f"WHEN '{team}' THEN '{prefix}'" for team, prefix in PREFIXES.items())
    prompt_teams = ", ".join(f"'{t}'" for t in PROMPT_TEAMS)
    conn = db.conn
    conn.execute(
        "UPDATE runs SET tags = json_insert(tags, '$[#]', (SELECT CASE e.name "
        f"{cases} ELSE upper(substr(replace(e.name, '-', ''), 1, 4)) END FROM projects p "
        "JOIN entities e ON e.id = p.entity_id WHERE p.id = runs.project_id) || '-' || "
        "(100 + (id * 7) % 400)) WHERE id >= ? AND id % 10 < 7", (first_run_id,))
    conn.execute(
        "UPDATE runs SET config = json_set(config, '$.prompt_template_version', "
        "'v' || (1 + id % 3)) WHERE id >= ? AND id % 5 != 0 AND project_id IN ("
        "SELECT p.id FROM projects p JOIN entities e ON e.id = p.entity_id WHERE "
        f"e.name IN ({prompt_teams}) OR (p.id % 3 = 0 AND e.name NOT IN "
        f"({', '.join(repr(t) for t in PREFIXES)})))", (first_run_id,))
