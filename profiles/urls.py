from django.urls import path, register_converter

from community.converters import UsernameConverter
from profiles import views

app_name = "profiles"
register_converter(UsernameConverter, "username")

urlpatterns = [
    path("settings/profile/", views.settings_profile, name="settings_profile"),
    path("settings/preferences/", views.settings_preferences, name="settings_preferences"),
    path("settings/privacy/", views.settings_privacy, name="settings_privacy"),
    path("settings/privacy/export/", views.privacy_export, name="privacy_export"),
    path("settings/privacy/erase/", views.privacy_erase, name="privacy_erase"),
    path("settings/privacy/preview/", views.privacy_preview, name="privacy_preview"),
    path("i18n/setlang/", views.switch_language, name="set_language"),
    path("hilfe/kundendaten/", views.help_customer_data, name="help_customer_data"),
    path("members/", views.directory, name="directory"),
    path("members/<username:username>/", views.member_detail, name="detail"),
]
