"""Root URLs. The apps are included by dotted string, so `community` imports neither."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from community import views
from community.forms import LoginForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("profiles.urls")),
    path("admin/", admin.site.urls),
]

handler500 = "community.views.server_error"
