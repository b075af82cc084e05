from django.http import JsonResponse
from django.shortcuts import render

from .health import health_report
from .selectors import knowledge_base_totals


def home(request):
    return render(request, "projects/home.html", {"totals": knowledge_base_totals(request.user)})


def healthz(request):
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
