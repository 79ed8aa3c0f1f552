// Saves each answer as it is given, so a member can reload or switch device without losing it.
// The form works without this script: "Save and finish later" and "Submit" post the whole form,
// so a submit never waits for an autosave (a late autosave of a submitted questionnaire changes nothing).
// Fails soft: a save that meets a server or network error is tried once more; if that fails too, the page says
// the answer is not saved yet (it stays ticked, and goes with the form) — never an error page.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave-url]");
  if (!form || !window.fetch) { return; }
  var status = document.getElementById("autosave-status");
  var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var RETRY_AFTER_MS = 1500;
  var latest = {};  // question name -> number of its latest change: an older save never reports over a newer one

  function say(text, problem) {
    if (!status) { return; }
    status.textContent = text;
    status.classList.toggle("text-danger", !!problem);
    status.classList.toggle("fw-semibold", !!problem);
    status.classList.toggle("text-body-secondary", !problem);
  }

  function post(name, value) {
    var body = new FormData();
    body.append(name, value);
    return fetch(form.dataset.autosaveUrl, {
      method: "POST",
      body: body,
      headers: { "X-CSRFToken": token },
      credentials: "same-origin"
    });
  }

  function notSavedYet() {
    say("Not saved yet: we could not reach the site. Your answers stay on this page; " +
        "press \u201cSave and finish later\u201d or \u201cSubmit\u201d to send them.", true);
  }

  function save(name, value, change, retried) {
    post(name, value).then(function (response) {
      if (latest[name] !== change) { return; }
      if (response.ok) { say("Saved.", false); return; }
      if (response.status >= 500 && !retried) {
        window.setTimeout(function () { if (latest[name] === change) { save(name, value, change, true); } },
                          RETRY_AFTER_MS);
        return;
      }
      if (response.status >= 500) { notSavedYet(); return; }
      if (response.status === 403) { say("Not saved: these questionnaires are closed.", true); return; }
      say("Not saved: check this answer.", true);
    }).catch(function () {
      if (latest[name] !== change) { return; }
      if (!retried) {
        window.setTimeout(function () { if (latest[name] === change) { save(name, value, change, true); } },
                          RETRY_AFTER_MS);
        return;
      }
      notSavedYet();
    });
  }

  form.addEventListener("change", function (event) {
    var input = event.target;
    // Only answers: a question's inputs sit in its fieldset.
    if (!input.name || !input.closest("fieldset")) { return; }
    latest[input.name] = (latest[input.name] || 0) + 1;
    save(input.name, input.value, latest[input.name], false);
  });
}());
