// Saves each answer as it is given, so a member can reload or switch device without losing it.
// The form works without this script: "Save and finish later" and "Submit" post the whole form,
// so a submit never waits for an autosave (a late autosave of a submitted questionnaire changes nothing).
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave-url]");
  if (!form || !window.fetch) { return; }
  var status = document.getElementById("autosave-status");
  var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  function say(text) { if (status) { status.textContent = text; } }

  function save(name, value) {
    var body = new FormData();
    body.append(name, value);
    fetch(form.dataset.autosaveUrl, {
      method: "POST",
      body: body,
      headers: { "X-CSRFToken": token },
      credentials: "same-origin"
    }).then(function (response) {
      say(response.ok ? "Saved." : "Not saved: check this answer.");
    }).catch(function () {
      say("Not saved yet: your connection may be down. Your answers stay on this page.");
    });
  }

  form.addEventListener("change", function (event) {
    var input = event.target;
    if (input.name && input.name !== "csrfmiddlewaretoken") { save(input.name, input.value); }
  });
}());
