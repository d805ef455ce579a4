"""challenges pages on the organization host."""

from django.urls import path

from challenges import goal_views, views

urlpatterns = [
    path("challenges/", views.challenge_list, name="challenge-list"),
    path("challenges/<int:pk>/", views.challenge_detail, name="challenge-detail"),
    path("challenges/<int:pk>/leaderboard/", views.challenge_leaderboard, name="challenge-leaderboard"),
    path("challenges/<int:pk>/leaderboard/stream", views.leaderboard_stream, name="challenge-leaderboard-stream"),
    path("badges/", views.badges, name="badges"),
    path("goals/", goal_views.goal_list, name="goal-list"),  # issue 18: personal goals
    path("goals/<int:pk>/", goal_views.goal_detail, name="goal-detail"),
    path("manage/challenges/", views.manage_challenges, name="manage-challenges"),
    path("manage/challenges/new/", views.manage_challenge_edit, name="manage-challenge-new"),
    path("manage/challenges/<int:pk>/", views.manage_challenge_edit, name="manage-challenge-edit"),
]
