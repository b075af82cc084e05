"""A version number of the knowledge base's content, raised by every committed write.

Caches of expensive reads (statistics, country profiles) are keyed by it, so a write
through any path — admin, API, imports, raw SQL — makes them miss at once, with no list of
cache keys to delete. A deferred constraint trigger on each table whose rows those reads
show raises the number once per transaction, at commit: the row lock it takes is held for
the commit only, and a reader that saw version v saw every write committed before v.
"""

from django.db import migrations

TABLES = [
    "projects_project",
    "projects_projectcountry",
    "projects_projectcompany",
    "projects_projectinitiative",
    "projects_country",
    "projects_company",
    "projects_projecttype",
    "projects_initiative",
    "projects_citation",
    "projects_sourcedocument",
    "projects_mention",
]

FUNCTION = r"""
CREATE TABLE projects_dataversion (
    id smallint PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL
);
INSERT INTO projects_dataversion (id, version) VALUES (1, 1);

CREATE OR REPLACE FUNCTION projects_data_version_raise() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('dsr.data_version_raised', true) IS DISTINCT FROM 'on' THEN
        PERFORM set_config('dsr.data_version_raised', 'on', true);
        INSERT INTO projects_dataversion (id, version) VALUES (1, 1)
        ON CONFLICT (id) DO UPDATE SET version = projects_dataversion.version + 1;
    END IF;
    RETURN NULL;
END $$;
"""

TRIGGERS = "\n".join(
    f"""
CREATE CONSTRAINT TRIGGER data_version_on_write AFTER INSERT OR UPDATE OR DELETE ON {table}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION projects_data_version_raise();
CREATE TRIGGER data_version_on_truncate AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION projects_data_version_raise();
"""
    for table in TABLES
)

REVERSE = "\n".join(
    f"DROP TRIGGER IF EXISTS data_version_on_write ON {table};\n"
    f"DROP TRIGGER IF EXISTS data_version_on_truncate ON {table};"
    for table in TABLES
) + (
    "\nDROP FUNCTION IF EXISTS projects_data_version_raise();"
    "\nDROP TABLE IF EXISTS projects_dataversion;"
)


class Migration(migrations.Migration):
    dependencies = [("projects", "0012_search_refresh_batches")]

    operations = [migrations.RunSQL(FUNCTION + TRIGGERS, REVERSE)]
