"""The viewer: a page that draws one ECG on paper, served by the gateway itself
(``GET /ecg/{ecg_id}``, its files under ``/viewer/assets/``); ``endpoints`` says what
is served and how, docs/viewer.md what the page does."""
