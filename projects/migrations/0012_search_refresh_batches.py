"""Search documents refreshed for a whole batch of projects at once.

`projects_project_search_refresh_many(bigint[])` builds the same document as the per-row
`projects_project_search_refresh(bigint)` of migration 0008 — both are generated below from
one SQL text, DOCUMENT — for every project of the array in one statement.

A writer that refreshes what it touched itself (the dataset import, a batch at a time) turns
the per-row triggers off for its transaction with
`set_config('dsr.search_deferred', 'on', true)`: the triggers on projects (insert, update of
the name, aliases or description) and on their country and company roles then return at once,
instead of rebuilding a project's document once per row written for it. The setting is local
to the transaction (a rollback takes it back too), and a project's deletion still removes its
document. Every other writer — the admin, the API, bulk updates — never sets it.
"""

from django.db import migrations

# A project's search document, for the project `p` (a row of projects_project): its name and
# aliases (A, unstemmed and stemmed), the names of its countries and organisations (B) and
# its description (C). The text of migration 0008.
DOCUMENT = r"""
        setweight(to_tsvector('simple',
            unaccent(p.name || ' ' || array_to_string(p.aliases, ' '))), 'A')
        || setweight(to_tsvector('english',
            unaccent(p.name || ' ' || array_to_string(p.aliases, ' '))), 'A')
        || setweight(to_tsvector('simple', unaccent(coalesce((
            SELECT string_agg(c.name || ' ' || array_to_string(c.aliases, ' '), ' ')
            FROM projects_projectcountry pc JOIN projects_country c ON c.id = pc.country_id
            WHERE pc.project_id = p.id), ''))), 'B')
        || setweight(to_tsvector('simple', unaccent(coalesce((
            SELECT string_agg(
                co.name || ' ' || co.chinese_name || ' ' || array_to_string(co.aliases, ' '), ' ')
            FROM projects_projectcompany pco JOIN projects_company co ON co.id = pco.company_id
            WHERE pco.project_id = p.id), ''))), 'B')
        || setweight(to_tsvector('english', unaccent(p.description)), 'C')"""


def refresh_function(name: str, argument: str, condition: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}({argument}) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO projects_projectsearch (project_id, document)
    SELECT p.id,{DOCUMENT}
    FROM projects_project p WHERE {condition}
    ON CONFLICT (project_id) DO UPDATE SET document = EXCLUDED.document;
$$;
"""


REFRESH = refresh_function("projects_project_search_refresh", "pid bigint", "p.id = pid")
REFRESH_MANY = refresh_function(
    "projects_project_search_refresh_many", "pids bigint[]", "p.id = ANY(pids)"
)

DEFERRED = "current_setting('dsr.search_deferred', true) = 'on'"

TRIGGERS = rf"""
CREATE OR REPLACE FUNCTION projects_project_search_on_project() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM projects_projectsearch WHERE project_id = OLD.id;
        RETURN OLD;
    END IF;
    IF {DEFERRED} THEN
        RETURN NEW;
    END IF;
    PERFORM projects_project_search_refresh(NEW.id);
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION projects_project_search_on_role() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF {DEFERRED} THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM projects_project_search_refresh(OLD.project_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM projects_project_search_refresh(NEW.project_id);
    END IF;
    RETURN NULL;
END $$;
"""

# The trigger functions as migration 0003 made them.
TRIGGERS_BEFORE = r"""
CREATE OR REPLACE FUNCTION projects_project_search_on_project() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM projects_projectsearch WHERE project_id = OLD.id;
        RETURN OLD;
    END IF;
    PERFORM projects_project_search_refresh(NEW.id);
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION projects_project_search_on_role() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM projects_project_search_refresh(OLD.project_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM projects_project_search_refresh(NEW.project_id);
    END IF;
    RETURN NULL;
END $$;
"""

FORWARD = REFRESH + REFRESH_MANY + TRIGGERS
BACKWARD = (
    TRIGGERS_BEFORE + "DROP FUNCTION IF EXISTS projects_project_search_refresh_many(bigint[]);\n"
)


class Migration(migrations.Migration):
    dependencies = [("projects", "0011_dataset_import_roles")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
