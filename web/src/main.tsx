import { render } from 'preact';
import { App } from './App';
import { lokiMaxEntries } from './lib/api';
import './styles.css';

// The first log query waits for the server's line limit (it sets the page size); asked
// now, the answer is in (and cached) by the time the explorer has rendered.
void lokiMaxEntries();

render(<App />, document.getElementById('app')!);
