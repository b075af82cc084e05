"""A project's own aliases (other names, names of merged duplicates) join its search
document with its name, and a change to them refreshes it."""

from django.db import migrations

REFRESH = r"""
CREATE OR REPLACE FUNCTION projects_project_search_refresh(pid bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO projects_projectsearch (project_id, document)
    SELECT p.id,
        setweight(to_tsvector('simple', unaccent(p.name || ' ' || array_to_string(p.aliases, ' '))), 'A')
        || setweight(to_tsvector('english', unaccent(p.name || ' ' || array_to_string(p.aliases, ' '))), 'A')
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
"""

FORWARD = REFRESH + r"""
DROP TRIGGER IF EXISTS project_search_on_write ON projects_project;
CREATE TRIGGER project_search_on_write
    AFTER INSERT OR UPDATE OF name, aliases, description ON projects_project
    FOR EACH ROW EXECUTE FUNCTION projects_project_search_on_project();
SELECT projects_project_search_refresh(id) FROM projects_project WHERE aliases <> '{}';
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS project_search_on_write ON projects_project;
CREATE TRIGGER project_search_on_write
    AFTER INSERT OR UPDATE OF name, description ON projects_project
    FOR EACH ROW EXECUTE FUNCTION projects_project_search_on_project();
"""


class Migration(migrations.Migration):
    dependencies = [("projects", "0007_editor_roles")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
