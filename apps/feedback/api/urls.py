from django.urls import path

from . import views

threads = views.ThreadViewSet
posts = views.PostViewSet
lessons = views.LessonViewSet
# Spelled out (not routed as detail views): a write nobody in the caller's role may do is 403
# before any thread, post or lesson is looked up; a thread the caller may not see is 404.
urlpatterns = [
    path("feedback/threads/", threads.as_view({"get": "list", "post": "create"}), name="feedback-thread-list"),
    path("feedback/threads/<int:pk>/", threads.as_view({"get": "retrieve", "patch": "partial_update"}),
         name="feedback-thread-detail"),
    path("feedback/threads/<int:pk>/follow/", threads.as_view({"post": "follow", "delete": "unfollow"}),
         name="feedback-thread-follow"),
    path("feedback/threads/<int:pk>/posts/", posts.as_view({"get": "list", "post": "create"}),
         name="feedback-post-list"),
    path("feedback/threads/<int:pk>/posts/<int:post_id>/", posts.as_view({"patch": "partial_update"}),
         name="feedback-post-detail"),
    path("feedback/threads/<int:pk>/posts/<int:post_id>/hide/", posts.as_view({"post": "hide"}),
         name="feedback-post-hide"),
    path("feedback/lessons/", lessons.as_view({"get": "list", "post": "create"}), name="feedback-lesson-list"),
    path("feedback/lessons/<slug:slug>/", lessons.as_view({"get": "retrieve"}), name="feedback-lesson-detail"),
    path("feedback/lessons/<slug:slug>/publish/", lessons.as_view({"post": "publish"}),
         name="feedback-lesson-publish"),
    path("feedback/metrics/", views.MetricsView.as_view(), name="feedback-metrics"),
]  # fmt: skip
