"""Triggers that keep projects_projectsearch in step with every write.

A project's search document joins its own name and description with the names, aliases
(and Chinese names) of its countries and companies. Names are indexed both unstemmed
('simple', after unaccent, for names in any language) and stemmed ('english').
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION projects_project_search_refresh(pid bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO projects_projectsearch (project_id, document)
    SELECT p.id,
        setweight(to_tsvector('simple', unaccent(p.name)), 'A')
        || setweight(to_tsvector('english', unaccent(p.name)), 'A')
        || setweight(to_tsvector('simple', unaccent(coalesce((
            SELECT string_agg(c.name || ' ' || array_to_string(c.aliases, ' '), ' ')
            FROM projects_projectcountry pc JOIN projects_country c ON c.id = pc.country_id
            WHERE pc.project_id = p.id), ''))), 'B')
        || setweight(to_tsvector('simple', unaccent(coalesce((
            SELECT string_agg(
                co.name || ' ' || co.chinese_name || ' ' || array_to_string(co.aliases, ' '), ' ')
            FROM projects_projectcompany pco JOIN projects_company co ON co.id = pco.company_id
            WHERE pco.project_id = p.id), ''))), 'B')
        || setweight(to_tsvector('english', unaccent(p.description)), 'C')
    FROM projects_project p WHERE p.id = pid
    ON CONFLICT (project_id) DO UPDATE SET document = EXCLUDED.document;
$$;

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

CREATE OR REPLACE FUNCTION projects_project_search_on_country() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM projects_project_search_refresh(pc.project_id)
    FROM (SELECT DISTINCT project_id FROM projects_projectcountry WHERE country_id = NEW.id) pc;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION projects_project_search_on_company() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM projects_project_search_refresh(pc.project_id)
    FROM (SELECT DISTINCT project_id FROM projects_projectcompany WHERE company_id = NEW.id) pc;
    RETURN NULL;
END $$;

CREATE TRIGGER project_search_on_write
    AFTER INSERT OR UPDATE OF name, description ON projects_project
    FOR EACH ROW EXECUTE FUNCTION projects_project_search_on_project();
CREATE TRIGGER project_search_on_delete
    AFTER DELETE ON projects_project
    FOR EACH ROW EXECUTE FUNCTION projects_project_search_on_project();
CREATE TRIGGER project_search_on_country_role
    AFTER INSERT OR UPDATE OR DELETE ON projects_projectcountry
    FOR EACH ROW EXECUTE FUNCTION projects_project_search_on_role();
CREATE TRIGGER project_search_on_company_role
    AFTER INSERT OR UPDATE OR DELETE ON projects_projectcompany
    FOR EACH ROW EXECUTE FUNCTION projects_project_search_on_role();
CREATE TRIGGER project_search_on_country_names
    AFTER UPDATE OF name, aliases ON projects_country
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.aliases IS DISTINCT FROM NEW.aliases)
    EXECUTE FUNCTION projects_project_search_on_country();
CREATE TRIGGER project_search_on_company_names
    AFTER UPDATE OF name, chinese_name, aliases ON projects_company
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name
        OR OLD.chinese_name IS DISTINCT FROM NEW.chinese_name
        OR OLD.aliases IS DISTINCT FROM NEW.aliases)
    EXECUTE FUNCTION projects_project_search_on_company();

SELECT projects_project_search_refresh(id) FROM projects_project;
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS project_search_on_write ON projects_project;
DROP TRIGGER IF EXISTS project_search_on_delete ON projects_project;
DROP TRIGGER IF EXISTS project_search_on_country_role ON projects_projectcountry;
DROP TRIGGER IF EXISTS project_search_on_company_role ON projects_projectcompany;
DROP TRIGGER IF EXISTS project_search_on_country_names ON projects_country;
DROP TRIGGER IF EXISTS project_search_on_company_names ON projects_company;
DROP FUNCTION IF EXISTS projects_project_search_on_project();
DROP FUNCTION IF EXISTS projects_project_search_on_role();
DROP FUNCTION IF EXISTS projects_project_search_on_country();
DROP FUNCTION IF EXISTS projects_project_search_on_company();
DROP FUNCTION IF EXISTS projects_project_search_refresh(bigint);
"""


class Migration(migrations.Migration):
    dependencies = [("projects", "0002_search_and_mentions")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
