"""The case work of the service package: reports from the mini-program (hospitalization, death,
hardship), death verification and its cascade, the visit task queue and visit records with their
costs, hardship cases, Spring Festival key-visit rosters, and unit costs with the budget estimate.

Modules: `costs`, `deaths`, `festivals`, `hardship`, `reports`, `visits`.
"""
from app.domain.cases.costs import (
    default_lines,
    estimate,
    parse_yuan,
    resolve_unit_costs,
    set_unit_cost,
    spend_by_region,
    unit_cost,
    yuan,
)
from app.domain.cases.deaths import acknowledge_stop, pending, pension_stops, reject, verify
from app.domain.cases.festivals import coverage, current_year, entries, generate, lunar_label, priority_categories
from app.domain.cases.hardship import (
    assess,
    assign_helper,
    case_for,
    cases,
    close,
    end_helper,
    money_total,
    open_case,
    record_help,
    review,
)
from app.domain.cases.reports import file_report, get_report, list_reports, validate
from app.domain.cases.visits import (
    assign,
    assignable_staff,
    cancel_open_tasks,
    chain,
    create_task,
    effective_kind,
    is_overdue,
    queue,
    record_empty_visit,
    record_for,
    record_of_task,
    record_visit,
    root_task,
    staff_in_scope,
    staff_responsible_for,
    task_for,
)

__all__ = [
    "resolve_unit_costs", "unit_cost", "set_unit_cost", "default_lines", "spend_by_region", "estimate", "yuan",
    "parse_yuan", "pending", "verify", "reject", "pension_stops", "acknowledge_stop", "lunar_label",
    "current_year", "priority_categories", "generate", "entries", "coverage", "open_case", "case_for", "assess",
    "assign_helper", "end_helper", "record_help", "review", "close", "cases", "money_total", "validate",
    "file_report", "list_reports", "get_report", "create_task", "root_task", "effective_kind", "task_for",
    "queue", "is_overdue", "staff_in_scope", "staff_responsible_for", "assignable_staff", "assign",
    "record_visit", "record_empty_visit", "cancel_open_tasks", "record_for", "record_of_task", "chain",
]
