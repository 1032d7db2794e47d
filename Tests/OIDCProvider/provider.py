"""A real OpenID Connect provider for the end-to-end sign-in test: django-oauth-toolkit (from PyPI)
with its OIDC support, RS256 keys, PKCE required, one confidential client and one user.

    provider.py serve PORT DATA_DIR REDIRECT_URI CLIENT_SECRET
        writes the issuer to DATA_DIR/ready once listening (and prints "ready <issuer>"), then serves
    provider.py browse AUTHORIZE_URL USER PASSWORD REDIRECT_PREFIX
        plays the browser: logs in on the provider's login form and follows redirects until the
        provider sends it to REDIRECT_PREFIX; prints that URL (with code and state).
"""
import os
import re
import sys


def serve(port, data_dir, redirect_uri, client_secret):
    import django
    from django.conf import settings
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    issuer = f"http://127.0.0.1:{port}/o"
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        SECRET_KEY=os.urandom(32).hex(),
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions", "oauth2_provider"],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(data_dir, "provider.sqlite3")}},
        TEMPLATES=[{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {
                "context_processors": ["django.template.context_processors.request"],
                "loaders": [
                    ("django.template.loaders.locmem.Loader", {
                        "registration/login.html":
                            '<form method="post">{% csrf_token %}{{ form.as_p }}'
                            '<input type="hidden" name="next" value="{{ next }}"><button>Sign in</button></form>',
                    }),
                    "django.template.loaders.app_directories.Loader",
                ],
            },
        }],
        LOGIN_URL="/accounts/login/",
        USE_TZ=True,
        OAUTH2_PROVIDER={
            "OIDC_ENABLED": True,
            "OIDC_RSA_PRIVATE_KEY": pem,
            "OIDC_ISS_ENDPOINT": issuer,
            "PKCE_REQUIRED": True,
            "SCOPES": {"openid": "OpenID Connect", "email": "Email", "profile": "Profile"},
            "OAUTH2_VALIDATOR_CLASS": "__main__.Validator",
        },
    )
    django.setup()
    define_validator_and_urls()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import User
    from oauth2_provider.models import Application
    User.objects.create_user("ada", email="ada@school.example", password="correct horse",
                             first_name="Ada", last_name="Lovelace", is_staff=True)
    User.objects.create_user("sam", email="sam@school.example", password="battery staple",
                             first_name="Sam", last_name="Pupil")
    Application.objects.create(
        name="attendance", client_id="attendance", client_secret=client_secret,
        client_type=Application.CLIENT_CONFIDENTIAL, authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uri, algorithm=Application.RS256_ALGORITHM, skip_authorization=True)

    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    httpd = ThreadedWSGIServer(("127.0.0.1", port), QuietHandler)
    httpd.set_app(get_wsgi_application())
    with open(os.path.join(data_dir, "ready.tmp"), "w") as f:
        f.write(issuer)
    os.rename(os.path.join(data_dir, "ready.tmp"), os.path.join(data_dir, "ready"))
    print("ready", issuer, flush=True)
    httpd.serve_forever()


def define_validator_and_urls():
    """Module globals Django finds by name (ROOT_URLCONF, OAUTH2_VALIDATOR_CLASS); they can only be
    made once settings exist."""
    from django.contrib.auth import views as auth_views
    from django.urls import include, path
    from oauth2_provider.oauth2_validators import OAuth2Validator

    class Validator(OAuth2Validator):
        """Adds the claims a school's provider would send: email, name and a groups claim."""
        oidc_claim_scope = None

        def get_additional_claims(self, request):
            user = request.user
            return {"email": user.email, "email_verified": True, "name": user.get_full_name(),
                    "groups": ["staff"] if user.is_staff else ["pupils"]}

    globals()["Validator"] = Validator
    globals()["urlpatterns"] = [
        path("accounts/login/", auth_views.LoginView.as_view()),
        path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    ]


if __name__ == "__main__" and sys.argv[1] == "serve":
    serve(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])


def browse(url, user, password, redirect_prefix):
    import html
    import requests
    session = requests.Session()
    for _ in range(10):
        if url.startswith(redirect_prefix):
            print(url)
            return
        response = session.get(url, allow_redirects=False, timeout=30)
        if response.status_code in (301, 302, 303):
            url = requests.compat.urljoin(url, response.headers["Location"])
            continue
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text)
        if response.status_code != 200 or token is None:
            sys.exit(f"unexpected answer from {url}: {response.status_code} {response.text[:300]}")
        next_field = re.search(r'name="next" value="([^"]*)"', response.text)
        posted = session.post(url, data={"csrfmiddlewaretoken": token.group(1), "username": user, "password": password,
                                         "next": html.unescape(next_field.group(1)) if next_field else ""},
                              allow_redirects=False, timeout=30)
        if posted.status_code not in (301, 302, 303):
            sys.exit(f"login refused: {posted.status_code} {posted.text[:300]}")
        url = requests.compat.urljoin(url, posted.headers["Location"])
    sys.exit("too many redirects")


if __name__ == "__main__" and sys.argv[1] == "browse":
    browse(*sys.argv[2:6])
