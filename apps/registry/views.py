from django.http import HttpRequest, HttpResponse


def _todo(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse(status=501)


workload_list = workload_export = workload_create = model_list = model_create = model_detail = _todo
model_edit = model_price_add = workload_detail = workload_edit = workload_retire = release_list = _todo
release_create = release_promote = release_rollback = workload_history = _todo
