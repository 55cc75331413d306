"""The OpenAPI schema outside programs read: every operation says what it answers on success."""

from __future__ import annotations

from drf_spectacular.generators import SchemaGenerator


def test_every_operation_declares_its_success_answer() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method in {"get", "post", "put", "patch", "delete"}
        and not any(str(code).startswith("2") for code in operation["responses"])
    ]
    assert missing == []


def test_a_list_answers_with_its_page_of_items_and_still_names_its_errors() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    responses = schema["paths"]["/api/v1/waivers/"]["get"]["responses"]
    assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/PaginatedWaiverOutputList")
    assert {"401", "403"} <= set(responses)
    detail = schema["paths"]["/api/v1/workloads/{slug}/"]["get"]["responses"]
    assert detail["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/WorkloadOutput")
