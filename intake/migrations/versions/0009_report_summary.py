"""report summary: daily dashboard counts, and the triggers that mark changed days

`report_day_counts` holds each Huế day's dashboard counts, `report_days` the days it covers.
Triggers on cases, case_extensions and calls write the day of every change to
`report_changes`, in the changing transaction; the dashboards count such days live until the
beat task (or `hotline reports refresh`) recomputes them. The summary starts empty: every day
is counted live, as before, until it is built.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# Frozen copies of intake.models.reports.SQLITE_TRIGGERS / POSTGRESQL_TRIGGERS (a unit test
# checks they are equal; a change to the triggers needs a new migration).
SQLITE_TRIGGERS = (
    "CREATE TRIGGER report_cases_insert AFTER INSERT ON cases BEGIN INSERT INTO report_changes (day) VALUES (date(NEW.created_at, '+7 hours')); END",
    "CREATE TRIGGER report_cases_update AFTER UPDATE ON cases WHEN OLD.created_at IS NOT NEW.created_at OR OLD.category_id IS NOT NEW.category_id OR OLD.channel IS NOT NEW.channel OR OLD.ward_id IS NOT NEW.ward_id OR OLD.ack_due_at IS NOT NEW.ack_due_at OR OLD.acknowledged_at IS NOT NEW.acknowledged_at OR OLD.resolve_due_at IS NOT NEW.resolve_due_at OR OLD.resolved_at IS NOT NEW.resolved_at BEGIN INSERT INTO report_changes (day) SELECT date(OLD.created_at, '+7 hours') UNION SELECT date(NEW.created_at, '+7 hours'); END",
    "CREATE TRIGGER report_cases_delete AFTER DELETE ON cases BEGIN INSERT INTO report_changes (day) VALUES (date(OLD.created_at, '+7 hours')); END",
    "CREATE TRIGGER report_case_extensions_insert AFTER INSERT ON case_extensions BEGIN INSERT INTO report_changes (day) SELECT date(created_at, '+7 hours') FROM cases WHERE id = NEW.case_id; END",
    "CREATE TRIGGER report_case_extensions_update AFTER UPDATE ON case_extensions WHEN OLD.case_id IS NOT NEW.case_id BEGIN INSERT INTO report_changes (day) SELECT date(created_at, '+7 hours') FROM cases WHERE id IN (OLD.case_id, NEW.case_id); END",
    "CREATE TRIGGER report_case_extensions_delete AFTER DELETE ON case_extensions BEGIN INSERT INTO report_changes (day) SELECT date(created_at, '+7 hours') FROM cases WHERE id = OLD.case_id; END",
    "CREATE TRIGGER report_calls_insert AFTER INSERT ON calls BEGIN INSERT INTO report_changes (day) VALUES (date(NEW.started_at, '+7 hours')); END",
    "CREATE TRIGGER report_calls_update AFTER UPDATE ON calls WHEN OLD.started_at IS NOT NEW.started_at OR OLD.outcome IS NOT NEW.outcome BEGIN INSERT INTO report_changes (day) SELECT date(OLD.started_at, '+7 hours') UNION SELECT date(NEW.started_at, '+7 hours'); END",
    "CREATE TRIGGER report_calls_delete AFTER DELETE ON calls BEGIN INSERT INTO report_changes (day) VALUES (date(OLD.started_at, '+7 hours')); END",
)
POSTGRESQL_TRIGGERS = (
    'CREATE OR REPLACE FUNCTION report_forget_all() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  DELETE FROM report_days;\n  DELETE FROM report_day_counts;\n  RETURN NULL;\nEND\n$$',
    "CREATE OR REPLACE FUNCTION report_mark_cases() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP = 'INSERT' THEN\n    INSERT INTO report_changes (day) SELECT DISTINCT (timezone(INTERVAL '+07:00', created_at))::date FROM new_rows;\n  ELSIF TG_OP = 'DELETE' THEN\n    INSERT INTO report_changes (day) SELECT DISTINCT (timezone(INTERVAL '+07:00', created_at))::date FROM old_rows;\n  ELSE\n    INSERT INTO report_changes (day) SELECT DISTINCT d FROM old_rows o JOIN new_rows n ON n.id = o.id, LATERAL (VALUES ((timezone(INTERVAL '+07:00', o.created_at))::date), ((timezone(INTERVAL '+07:00', n.created_at))::date)) AS v(d) WHERE (o.created_at, o.category_id, o.channel, o.ward_id, o.ack_due_at, o.acknowledged_at, o.resolve_due_at, o.resolved_at) IS DISTINCT FROM (n.created_at, n.category_id, n.channel, n.ward_id, n.ack_due_at, n.acknowledged_at, n.resolve_due_at, n.resolved_at);\n  END IF;\n  RETURN NULL;\nEND\n$$",
    "CREATE OR REPLACE FUNCTION report_mark_extensions() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP = 'INSERT' THEN\n    INSERT INTO report_changes (day) SELECT DISTINCT (timezone(INTERVAL '+07:00', c.created_at))::date FROM new_rows e JOIN cases c ON c.id = e.case_id;\n  ELSIF TG_OP = 'DELETE' THEN\n    INSERT INTO report_changes (day) SELECT DISTINCT (timezone(INTERVAL '+07:00', c.created_at))::date FROM old_rows e JOIN cases c ON c.id = e.case_id;\n  ELSE\n    INSERT INTO report_changes (day) SELECT DISTINCT (timezone(INTERVAL '+07:00', c.created_at))::date FROM old_rows e JOIN cases c ON c.id = e.case_id UNION SELECT DISTINCT (timezone(INTERVAL '+07:00', c.created_at))::date FROM new_rows e JOIN cases c ON c.id = e.case_id;\n  END IF;\n  RETURN NULL;\nEND\n$$",
    "CREATE OR REPLACE FUNCTION report_mark_calls() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP = 'INSERT' THEN\n    INSERT INTO report_changes (day) SELECT DISTINCT (timezone(INTERVAL '+07:00', started_at))::date FROM new_rows;\n  ELSIF TG_OP = 'DELETE' THEN\n    INSERT INTO report_changes (day) SELECT DISTINCT (timezone(INTERVAL '+07:00', started_at))::date FROM old_rows;\n  ELSE\n    INSERT INTO report_changes (day) SELECT DISTINCT d FROM old_rows o JOIN new_rows n ON n.id = o.id, LATERAL (VALUES ((timezone(INTERVAL '+07:00', o.started_at))::date), ((timezone(INTERVAL '+07:00', n.started_at))::date)) AS v(d) WHERE (o.started_at, o.outcome) IS DISTINCT FROM (n.started_at, n.outcome);\n  END IF;\n  RETURN NULL;\nEND\n$$",
    'CREATE TRIGGER report_cases_insert AFTER INSERT ON cases REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_mark_cases()',
    'CREATE TRIGGER report_cases_update AFTER UPDATE ON cases REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_mark_cases()',
    'CREATE TRIGGER report_cases_delete AFTER DELETE ON cases REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_mark_cases()',
    'CREATE TRIGGER report_cases_truncate AFTER TRUNCATE ON cases FOR EACH STATEMENT EXECUTE FUNCTION report_forget_all()',
    'CREATE TRIGGER report_case_extensions_insert AFTER INSERT ON case_extensions REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_mark_extensions()',
    'CREATE TRIGGER report_case_extensions_update AFTER UPDATE ON case_extensions REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_mark_extensions()',
    'CREATE TRIGGER report_case_extensions_delete AFTER DELETE ON case_extensions REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_mark_extensions()',
    'CREATE TRIGGER report_case_extensions_truncate AFTER TRUNCATE ON case_extensions FOR EACH STATEMENT EXECUTE FUNCTION report_forget_all()',
    'CREATE TRIGGER report_calls_insert AFTER INSERT ON calls REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_mark_calls()',
    'CREATE TRIGGER report_calls_update AFTER UPDATE ON calls REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_mark_calls()',
    'CREATE TRIGGER report_calls_delete AFTER DELETE ON calls REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_mark_calls()',
    'CREATE TRIGGER report_calls_truncate AFTER TRUNCATE ON calls FOR EACH STATEMENT EXECUTE FUNCTION report_forget_all()',
)


def upgrade() -> None:
    op.create_table('report_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_changes'))
    )
    op.create_index('ix_report_changes_day', 'report_changes', ['day'])
    op.create_table('report_day_counts',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('dimension', sa.String(length=16), nullable=False),
    sa.Column('item', sa.String(length=40), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'dimension', 'item', name=op.f('pk_report_day_counts'))
    )
    op.create_table('report_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_report_days'))
    )
    dialect = op.get_bind().dialect.name
    for statement in {'sqlite': SQLITE_TRIGGERS, 'postgresql': POSTGRESQL_TRIGGERS}.get(dialect, ()):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in ('cases', 'case_extensions', 'calls'):
        for action in ('insert', 'update', 'delete', 'truncate'):
            if dialect == 'postgresql':
                op.execute(f'DROP TRIGGER IF EXISTS report_{table}_{action} ON {table}')
            elif dialect == 'sqlite':
                op.execute(f'DROP TRIGGER IF EXISTS report_{table}_{action}')
    if dialect == 'postgresql':
        for function in ('report_mark_calls', 'report_mark_extensions', 'report_mark_cases',
                         'report_forget_all'):
            op.execute(f'DROP FUNCTION IF EXISTS {function}()')
    op.drop_table('report_days')
    op.drop_table('report_day_counts')
    op.drop_index('ix_report_changes_day', table_name='report_changes')
    op.drop_table('report_changes')
