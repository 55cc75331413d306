from django.urls import path

from . import views

app_name = "feedback"

urlpatterns = [
    path("", views.thread_list, name="thread-list"),
    path("mine/", views.my_threads, name="my-threads"),
    path("new/", views.thread_create, name="thread-create"),
    path("t/<int:pk>/", views.thread_detail, name="thread-detail"),
    path("t/<int:pk>/reply/", views.post_create, name="post-create"),
    path("t/<int:pk>/follow/", views.thread_follow, name="thread-follow"),
    path("t/<int:pk>/triage/", views.thread_triage, name="thread-triage"),
    path("posts/<int:pk>/edit/", views.post_edit, name="post-edit"),
    path("posts/<int:pk>/hide/", views.post_hide, name="post-hide"),
    path("triage/", views.triage_queue, name="triage"),
    path("lessons/", views.lesson_list, name="lesson-list"),
    path("lessons/new/", views.lesson_create, name="lesson-create"),
    path("lessons/<slug:slug>/", views.lesson_detail, name="lesson-detail"),
    path("lessons/<slug:slug>/publish/", views.lesson_publish, name="lesson-publish"),
    # The feedback panel other apps' pages load with hx-get (DESIGN.md: each app renders its own data).
    path("panel/<str:subject>/<slug:slug>/", views.panel, name="panel"),
    path("digest/", views.digest_preference, name="digest-preference"),
]
