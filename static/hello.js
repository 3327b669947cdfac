// Ask the API and show its answer: the page and the API come from the same container.
// A file of its own, not an inline script, so that the Content-Security-Policy can stay at 'self'.
const answer = document.getElementById("answer");

fetch("hello")
  .then((response) => (response.ok ? response.text() : Promise.reject(new Error(`HTTP ${response.status}`))))
  .then((text) => {
    answer.textContent = text;
  })
  .catch((error) => {
    answer.textContent = `The API did not answer (${error.message}).`;
  });
